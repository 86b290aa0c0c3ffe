// Reads a `*.drover.json` file into a validated JobSpec whose paths are absolute, or
// fails with errors that name the JSON path and what was expected.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
import type { z } from 'zod';
import { jobSpecSchema, type JobSpec } from './jobSpec';

export class SpecError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: invalid job spec\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'SpecError';
  }
}

/** `source.query: give exactly one of "query" or "table"` */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.path.length === 0 ? '(top level)' : formatPath(issue.path);
    return `${path}: ${issue.message}`;
  });
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`))
    .join('');
}

/**
 * Job specs may carry comments and trailing commas (people annotate them); syntax errors
 * are reported with a line and column.
 */
export function parseJsonWithPosition(text: string, file: string): unknown {
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length === 0) return value;
  throw new SpecError(
    file,
    errors.slice(0, 5).map((error) => {
      const before = text.slice(0, error.offset);
      const line = before.split('\n').length;
      const column = error.offset - before.lastIndexOf('\n');
      return `not valid JSON at line ${line}, column ${column}: ${printParseErrorCode(error.error)}`;
    }),
  );
}

export function validateSpec(value: unknown, file = '(spec)'): JobSpec {
  const result = jobSpecSchema.safeParse(value);
  if (!result.success) throw new SpecError(file, describeIssues(result.error.issues));
  return result.data;
}

/** Paths in a spec are relative to the spec file; the engine only ever sees absolute ones. */
export function resolveSpecPaths(spec: JobSpec, baseDir: string): JobSpec {
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(baseDir, path));
  const source = spec.source.type === 'postgres' ? spec.source : { ...spec.source, path: absolute(spec.source.path) };
  let sink = spec.sink;
  if (sink && (sink.type === 'jsonl' || sink.type === 'csv')) sink = { ...sink, path: absolute(sink.path) };
  if (sink?.type === 'sqlite' && sink.path !== undefined) sink = { ...sink, path: absolute(sink.path) };
  return { ...spec, source, sink };
}

export async function loadSpecFile(file: string): Promise<JobSpec> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SpecError(path, [code === 'ENOENT' ? 'file not found' : `cannot read: ${String(error)}`]);
  }
  return resolveSpecPaths(validateSpec(parseJsonWithPosition(text, path), path), dirname(path));
}
