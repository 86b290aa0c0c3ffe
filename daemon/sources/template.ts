// The per-record prompt: `{{field}}` and `{{field.sub}}` replaced by the record's values.
// Compiled once per job into literal text and field paths, because rendering runs for every
// record (millions of times): no pattern matching happens per render.

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

export interface CompiledTemplate {
  /** The field references in order of first use, as written (`text`, `meta.lang`). */
  readonly fields: string[];
  /** `recordLabel` names the record in errors, e.g. `record 42 (line 17)`. */
  render(fields: Record<string, unknown>, recordLabel: string): string;
}

interface FieldReference {
  name: string;
  path: string[];
}

const open = '{{';
const close = '}}';
const listedNamesAtMost = 20;

function describeNames(value: object): string {
  const names = Object.keys(value);
  if (names.length === 0) return 'no fields';
  const shown = names.slice(0, listedNamesAtMost).map((name) => JSON.stringify(name));
  return names.length > listedNamesAtMost ? `${shown.join(', ')} and ${names.length - listedNamesAtMost} more` : shown.join(', ');
}

function describeKind(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'binary data';
  return `a ${typeof value}`;
}

function missingField(reference: FieldReference, depth: number, parent: unknown, recordLabel: string): TemplateError {
  const field = JSON.stringify(reference.name);
  if (depth === 0) {
    return new TemplateError(`${recordLabel} has no field ${field} (used in prompt.template); it has ${describeNames(parent as object)}`);
  }
  const parentName = JSON.stringify(reference.path.slice(0, depth).join('.'));
  const detail =
    typeof parent === 'object' && parent !== null && !(parent instanceof Uint8Array)
      ? `${parentName} has ${describeNames(parent)}`
      : `${parentName} is ${describeKind(parent)}, not an object`;
  return new TemplateError(`${recordLabel} has no field ${field} (used in prompt.template); ${detail}`);
}

function lookUp(fields: Record<string, unknown>, reference: FieldReference, recordLabel: string): unknown {
  // The whole name first: a CSV column or SQL alias may itself contain a dot.
  if (Object.hasOwn(fields, reference.name)) {
    const value = fields[reference.name];
    if (value === undefined) throw missingField(reference, 0, fields, recordLabel);
    return value;
  }
  let value: unknown = fields;
  for (let depth = 0; depth < reference.path.length; depth += 1) {
    // A null object renders like a null value: empty.
    if (value === null) return null;
    const segment = reference.path[depth] ?? '';
    const parent = value;
    // hasOwn: `{{constructor}}` must not find Object's prototype.
    if (typeof parent !== 'object' || parent instanceof Uint8Array || !Object.hasOwn(parent, segment)) {
      throw missingField(reference, depth, parent, recordLabel);
    }
    value = (parent as Record<string, unknown>)[segment];
    if (value === undefined) throw missingField(reference, depth, parent, recordLabel);
  }
  return value;
}

function textOf(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'object':
      if (value === null) return '';
      if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
      return JSON.stringify(value, (_key, inner: unknown) => (typeof inner === 'bigint' ? inner.toString() : inner));
    default:
      // undefined is reported by lookUp; functions and symbols never come from data.
      return '';
  }
}

function parseReference(inner: string, offset: number): FieldReference {
  const name = inner.trim();
  const segments = name.split('.');
  if (name === '' || name.includes('{') || name.includes('}') || segments.some((segment) => segment === '')) {
    throw new TemplateError(
      `prompt.template: ${JSON.stringify(`${open}${inner}${close}`)} at character ${offset + 1} is not a field reference; ` +
        'write {{field}} or {{field.sub}}',
    );
  }
  return { name, path: segments };
}

export function compileTemplate(template: string): CompiledTemplate {
  const literals: string[] = [];
  const references: FieldReference[] = [];
  let position = 0;
  for (;;) {
    const start = template.indexOf(open, position);
    if (start === -1) break;
    const end = template.indexOf(close, start + open.length);
    if (end === -1) {
      throw new TemplateError(`prompt.template: "${open}" at character ${start + 1} has no closing "${close}"`);
    }
    literals.push(template.slice(position, start));
    references.push(parseReference(template.slice(start + open.length, end), start));
    position = end + close.length;
  }
  literals.push(template.slice(position));

  return {
    fields: [...new Set(references.map((reference) => reference.name))],
    render(fields, recordLabel) {
      let text = literals[0] ?? '';
      for (let index = 0; index < references.length; index += 1) {
        const reference = references[index];
        text += textOf(lookUp(fields, reference, recordLabel)) + (literals[index + 1] ?? '');
      }
      return text;
    },
  };
}
