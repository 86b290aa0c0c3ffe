// Reads a model's answer for a batch: finds each record's item BY ID (never by position),
// validates it against the output schema, and says which records still need an answer.
import type { OutputValidator } from './outputSchema';

export type RecordVerdict =
  | { key: string; ok: true; output: Record<string, unknown> }
  | { key: string; ok: false; errorClass: 'missing_answer' | 'invalid_output' | 'duplicate_answer'; reason: string };

export type BatchVerdict =
  | { ok: true; records: RecordVerdict[]; unknownIds: string[] }
  | { ok: false; errorClass: 'invalid_json'; reason: string };

/** Models sometimes wrap JSON in a Markdown fence despite being asked not to. */
function stripFence(text: string): string {
  const trimmed = text.trim();
  const fenced = /^```(?:json)?\s*\n?([\s\S]*?)\n?```$/i.exec(trimmed);
  return fenced ? (fenced[1]) : trimmed;
}

function resultItems(parsed: unknown): unknown[] | null {
  if (Array.isArray(parsed)) return parsed as unknown[];
  if (typeof parsed === 'object' && parsed !== null) {
    const results = (parsed as Record<string, unknown>).results;
    if (Array.isArray(results)) return results as unknown[];
  }
  return null;
}

function preview(text: string): string {
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

export function parseBatchAnswer(content: string, keys: readonly string[], validator: OutputValidator): BatchVerdict {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stripFence(content));
  } catch (error) {
    return {
      ok: false,
      errorClass: 'invalid_json',
      reason: `the model's answer is not valid JSON (${error instanceof Error ? error.message : String(error)}): ${preview(content)}`,
    };
  }
  const items = resultItems(parsed);
  if (!items) {
    return { ok: false, errorClass: 'invalid_json', reason: `the answer has no "results" array: ${preview(content)}` };
  }

  const wanted = new Set(keys);
  const found = new Map<string, unknown[]>();
  const unknownIds: string[] = [];
  for (const item of items) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) continue;
    const id = (item as Record<string, unknown>).id;
    if (typeof id !== 'string' && typeof id !== 'number') continue;
    const key = String(id);
    if (!wanted.has(key)) {
      unknownIds.push(key);
      continue;
    }
    const { id: _id, ...output } = item as Record<string, unknown>;
    const list = found.get(key);
    if (list) list.push(output);
    else found.set(key, [output]);
  }

  const records = keys.map((key): RecordVerdict => {
    const answers = found.get(key);
    if (!answers) return { key, ok: false, errorClass: 'missing_answer', reason: 'the answer had no item for this record' };
    const distinct = new Set(answers.map((answer) => JSON.stringify(answer)));
    if (distinct.size > 1) {
      return { key, ok: false, errorClass: 'duplicate_answer', reason: `the answer had ${answers.length} different items for this record` };
    }
    const output = answers[0] as Record<string, unknown>;
    const problem = validator.check(output);
    return problem === null
      ? { key, ok: true, output }
      : { key, ok: false, errorClass: 'invalid_output', reason: `${problem}: ${preview(JSON.stringify(output))}` };
  });
  return { ok: true, records, unknownIds };
}
