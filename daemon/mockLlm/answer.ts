// What the analyst model answers for a request: the records it was given (the wire format
// in the last user message, or the whole text as record "1") and one result per record,
// shaped by the request's response_format.
import { wireRecordsSchema, type WireRecords } from '../wire/wireFormat';
import { analyseSentiment } from './analyst';
import { type ChatMessageInput, messageText, type ResponseFormat } from './chatRequest';
import { answerRecord, type AnsweredRecord } from './schemaAnswer';

export type WireRecord = WireRecords['records'][number];

/** The answer before it becomes text: `results` (one per record, in order) or one object. */
export type AnalystAnswer =
  | { kind: 'results'; results: Record<string, unknown>[]; recordIds: string[] }
  | { kind: 'single'; value: unknown; recordIds: string[] };

function parseWireRecords(text: string): WireRecord[] | undefined {
  // Plain prose is the common case for single records: do not pay for a failed JSON.parse.
  if (!text.trimStart().startsWith('{')) return undefined;
  try {
    const parsed = wireRecordsSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.records : undefined;
  } catch {
    return undefined;
  }
}

/** The records of the last user message (the last message of any role when none is a user's). */
export function recordsOf(messages: readonly ChatMessageInput[]): WireRecord[] {
  const last = messages.findLast((message) => message.role === 'user') ?? messages.at(-1);
  const text = last ? messageText(last) : '';
  return parseWireRecords(text) ?? [{ id: '1', input: text }];
}

function analysed(record: WireRecord): AnsweredRecord {
  return { ...record, analysis: analyseSentiment(record.input) };
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The `items` schema when the schema is a batch (`{results: [...]}`), else undefined. */
function batchItemSchema(schema: Record<string, unknown>): Record<string, unknown> | undefined {
  const results = asObject(asObject(schema.properties)?.results);
  return results?.type === 'array' ? (asObject(results.items) ?? {}) : undefined;
}

export function answerFor(records: readonly WireRecord[], format: ResponseFormat | null | undefined): AnalystAnswer {
  const recordIds = records.map((record) => record.id);
  const schema = format?.type === 'json_schema' ? asObject(format.json_schema.schema) : undefined;
  if (!schema) {
    const results = records.map((record) => ({ id: record.id, ...analyseSentiment(record.input) }));
    return { kind: 'results', results, recordIds };
  }
  const itemSchema = batchItemSchema(schema);
  if (!itemSchema) {
    // A schema for one object, not a batch: answer it from the first record.
    return { kind: 'single', value: answerRecord(schema, analysed(records[0])), recordIds: recordIds.slice(0, 1) };
  }
  const results = records.map((record) => answerRecord(itemSchema, analysed(record), schema) as Record<string, unknown>);
  return { kind: 'results', results, recordIds };
}
