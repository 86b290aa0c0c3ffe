// A file source: JSON Lines, a JSON array or CSV, read front to back with constant memory.
// The readers hand over entries in file order; this module numbers them, picks each
// record's key, and resumes by skipping the entries a cursor says were handed out before.
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import type { FileSourceSpec } from '../spec/jobSpec';
import { countCsvEntries, readCsv } from './csvReader';
import type { FileEntry, FileObjectEntry, FileReadOptions } from './fileEntry';
import { countJsonArrayEntries, readJsonArray } from './jsonArrayReader';
import { countJsonlEntries, describeJsonType, readJsonl } from './jsonlReader';
import { SeenKeys } from './seenKeys';
import { type ReadOptions, type RecordCount, type RecordSource, type SourceItem, SourceError } from './source';

type FileFormat = NonNullable<FileSourceSpec['format']>;

const formatByExtension: Record<string, FileFormat> = { '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'json', '.csv': 'csv' };
const keyWithoutKeyField: Record<FileFormat, string> = { jsonl: 'line number', json: 'element number', csv: 'row number' };

function formatOf(spec: FileSourceSpec): FileFormat {
  if (spec.format !== undefined) return spec.format;
  const extension = extname(spec.path).toLowerCase();
  const format = formatByExtension[extension];
  if (format === undefined) {
    throw new SourceError(
      `source.path: cannot tell the format of ${spec.path} from its extension ${JSON.stringify(extension)}; ` +
        'accepted: .jsonl, .ndjson, .json (an array of objects), .csv — or set source.format to "jsonl", "json" or "csv"',
    );
  }
  return format;
}

async function requireFile(path: string): Promise<void> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new SourceError(`source.path: ${path} is not a file`);
  } catch (error) {
    if (error instanceof SourceError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SourceError(`source.path: ${path} does not exist`);
    throw new SourceError(`source.path: cannot read ${path} (${(error as Error).message})`);
  }
}

function keyedItem(entry: FileObjectEntry, keyField: string, seen: SeenKeys): SourceItem {
  const failed = (why: string): SourceItem => ({
    kind: 'malformed',
    ordinal: entry.ordinal,
    key: entry.failedKey,
    cursor: { ordinal: entry.ordinal, key: null },
    reason: `${entry.where}: ${why}`,
    ...(entry.line === undefined ? {} : { line: entry.line }),
  });
  const value = Object.hasOwn(entry.fields, keyField) ? entry.fields[keyField] : undefined;
  if (value === undefined || value === null) {
    const names = Object.keys(entry.fields).slice(0, 20).map((name) => JSON.stringify(name));
    const state = value === null ? 'is null' : `is missing (it has ${names.length > 0 ? names.join(', ') : 'no fields'})`;
    return failed(`key field ${JSON.stringify(keyField)} (source.key) ${state}`);
  }
  if (typeof value !== 'string' && typeof value !== 'number') {
    return failed(`key field ${JSON.stringify(keyField)} must be a string or a number, not ${describeJsonType(value)}`);
  }
  if (value === '') return failed(`key field ${JSON.stringify(keyField)} is empty`);
  const first = seen.add(String(value), entry.where);
  if (first !== undefined) {
    return failed(`key field ${JSON.stringify(keyField)} (source.key) value ${JSON.stringify(String(value))} was already used on ${first}; keys must be unique`);
  }
  return {
    kind: 'record',
    ordinal: entry.ordinal,
    key: String(value),
    cursor: { ordinal: entry.ordinal, key: value },
    fields: entry.fields,
    ...(entry.line === undefined ? {} : { line: entry.line }),
  };
}

function itemOf(entry: FileEntry, keyField: string | undefined, seen: SeenKeys | null): SourceItem {
  const line = entry.line === undefined ? {} : { line: entry.line };
  if (entry.kind === 'problem') {
    const cursor = { ordinal: entry.ordinal, key: null };
    return { kind: 'malformed', ordinal: entry.ordinal, key: entry.failedKey, cursor, reason: entry.reason, ...line };
  }
  if (keyField !== undefined && seen !== null) return keyedItem(entry, keyField, seen);
  const cursor = { ordinal: entry.ordinal, key: entry.position };
  return { kind: 'record', ordinal: entry.ordinal, key: String(entry.position), cursor, fields: entry.fields, ...line };
}

class FileSource implements RecordSource {
  readonly description: string;
  private readonly activeReads = new Set<AbortController>();
  private closed = false;

  constructor(
    private readonly spec: FileSourceSpec,
    private readonly format: FileFormat,
  ) {
    this.description = `${format} file ${spec.path} (key ${spec.key ?? keyWithoutKeyField[format]})`;
  }

  async count(signal?: AbortSignal): Promise<RecordCount> {
    this.requireOpen();
    return { total: await this.countEntries(signal), exact: true };
  }

  async *read(options: ReadOptions = {}): AsyncGenerator<SourceItem> {
    this.requireOpen();
    // close() aborts reads still running, which closes their files.
    const controller = new AbortController();
    this.activeReads.add(controller);
    const signal = options.signal === undefined ? controller.signal : AbortSignal.any([options.signal, controller.signal]);
    const skip = options.after?.ordinal ?? 0;
    // Keyed by a field, every entry's key is noted, those before a resume point too, so that
    // no later entry can take the key of one finished in an earlier run.
    const seen = this.spec.key === undefined ? null : new SeenKeys();
    const readOptions: FileReadOptions = { skip: seen === null ? skip : 0, signal };
    try {
      for await (const entry of this.entries(readOptions)) {
        // A chunk holds many lines; stop between them, not only between chunks.
        signal.throwIfAborted();
        const item = itemOf(entry, this.spec.key, seen);
        if (entry.ordinal > skip) yield item;
      }
    } catch (error) {
      // The file stream reports a generic AbortError; the caller's own reason says more.
      signal.throwIfAborted();
      throw error;
    } finally {
      seen?.close();
      this.activeReads.delete(controller);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const controller of this.activeReads) controller.abort(new SourceError(`${this.description} was closed`));
  }

  /** Every entry becomes one item (a record or a failed one), so entries are what is counted. */
  private countEntries(signal?: AbortSignal): Promise<number> {
    const { path, delimiter } = this.spec;
    if (this.format === 'jsonl') return countJsonlEntries(path, signal);
    if (this.format === 'json') return countJsonArrayEntries(path, signal);
    return countCsvEntries(path, delimiter, signal);
  }

  private entries(options: FileReadOptions): AsyncGenerator<FileEntry> {
    const { path, delimiter } = this.spec;
    if (this.format === 'jsonl') return readJsonl(path, options);
    if (this.format === 'json') return readJsonArray(path, options);
    return readCsv(path, { ...options, delimiter });
  }

  private requireOpen(): void {
    if (this.closed) throw new SourceError(`${this.description} is closed`);
  }
}

export async function openFileSource(spec: FileSourceSpec): Promise<RecordSource> {
  const format = formatOf(spec);
  await requireFile(spec.path);
  return new FileSource(spec, format);
}
