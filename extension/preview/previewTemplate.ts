// How a record preview starts, before the user edits its template: the field that most
// likely holds the text to analyse (else the first few fields by name), and the field that
// names each record. Pure.
import type { PreviewRecord } from '../../daemon/protocol/estimate';

const textFieldNames = ['text', 'review', 'comment', 'comments', 'body', 'content', 'message', 'feedback', 'description', 'summary', 'title'];
const fieldsInFallback = 6;

/** Field names in first-seen order over the records that could be read. */
export function recordFields(records: readonly PreviewRecord[]): string[] {
  const names = new Set<string>();
  for (const record of records) for (const name of Object.keys(record.fields)) names.add(name);
  return [...names];
}

// The template language reads `.` as a path into a field and stops at braces.
const usableInTemplate = (name: string) => name.length > 0 && !/[.{}]/.test(name);

export function defaultTemplate(fields: readonly string[]): string {
  const usable = fields.filter(usableInTemplate);
  const byName = new Map(usable.map((name) => [name.toLowerCase(), name]));
  for (const preferred of textFieldNames) {
    const match = byName.get(preferred);
    if (match) return `{{${match}}}`;
  }
  const shown = usable.slice(0, fieldsInFallback);
  if (shown.length === 0) throw new Error('the records have no fields a template can name');
  return shown.map((name) => `${name}: {{${name}}}`).join('\n');
}

const keyFieldNames = /^(id|key|uuid)$/i;

/** A field that names each record (`id`), shown as the record's key instead of its position. */
export function keyField(fields: readonly string[]): string | undefined {
  return fields.find((name) => keyFieldNames.test(name));
}
