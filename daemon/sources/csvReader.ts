// CSV with a header row, parsed by csv-parse. Fields are strings named by the header; a row
// that cannot be a record (wrong field count, bad quoting, invalid UTF-8, a NUL byte)
// becomes a problem entry naming its line, and parsing goes on with the next row.
//
// Invalid UTF-8: csv-parse decodes with Buffer#toString, which turns bad bytes into U+FFFD
// without a word. With `encoding: null` it hands over each field's raw bytes instead, and
// each field is decoded here with a fatal decoder. A UTF-8 byte order mark is removed
// before the parser sees it, because csv-parse switches back to decoding (utf8) when it
// finds one; `bom: true` stays for UTF-16LE files, which it then decodes itself.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type CsvError, type Info, parse } from 'csv-parse';
import { readFileChunks, withoutLeadingBom } from './fileChunks';
import type { FileEntry, FileEntryPlace, FileReadOptions } from './fileEntry';
import { SourceError } from './source';

/** csv-parse's `skip` event, put back in the row stream so it keeps its place in file order. */
class SkippedRow {
  constructor(readonly error: CsvError) {}
}

interface ParsedRow {
  record: (Uint8Array | string)[];
  info: Info;
}

type CsvItem = ParsedRow | SkippedRow;

export interface CsvReadOptions extends FileReadOptions {
  delimiter: string;
}

const newline = 0x0a;
const carriageReturn = 0x0d;
// Kept: a text NUL is valid UTF-8, but it usually means a binary or UTF-16 file, and
// Postgres text columns reject it later.
const nul = '\u0000';

function occurrences(record: (Uint8Array | string)[], character: string, byte: number): number {
  let count = 0;
  for (const field of record) {
    // indexOf on the union does not type-check, hence one loop per kind.
    if (typeof field === 'string') {
      for (let at = field.indexOf(character); at !== -1; at = field.indexOf(character, at + 1)) count += 1;
    } else {
      for (let at = field.indexOf(byte); at !== -1; at = field.indexOf(byte, at + 1)) count += 1;
    }
  }
  return count;
}

/**
 * File line numbers from csv-parse's `info.lines`, which counts where a row ends and, inside
 * quoted fields, counts "\r" and "\n" each as a line: every "\r" in a field so far is one
 * line too many.
 */
class LineCounter {
  private extraLines = 0;

  startOf(row: ParsedRow): number {
    this.extraLines += occurrences(row.record, '\r', carriageReturn);
    return row.info.lines - this.extraLines - occurrences(row.record, '\n', newline);
  }

  at(reportedLine: number): number {
    return reportedLine - this.extraLines;
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function readHeader(item: CsvItem, path: string, decoder: TextDecoder): string[] {
  if (item instanceof SkippedRow) {
    throw new SourceError(`${path}: the header row cannot be parsed: ${item.error.message}`);
  }
  const names = item.record.map((field) => {
    try {
      return typeof field === 'string' ? field : decoder.decode(field);
    } catch {
      throw new SourceError(`${path} line ${item.info.lines}: the header row is not valid UTF-8`);
    }
  });
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new SourceError(`${path}: column ${JSON.stringify(name)} appears twice in the header row`);
    seen.add(name);
  }
  return names;
}

function skippedEntry(row: SkippedRow, rowNumber: number, lines: LineCounter): FileEntry {
  const line = typeof row.error.lines === 'number' ? lines.at(row.error.lines) : undefined;
  const where = line === undefined ? `row ${rowNumber}` : `line ${line}`;
  const failedKey = line === undefined ? `row:${rowNumber}` : `line:${line}`;
  const place: FileEntryPlace = { ordinal: rowNumber, position: rowNumber, where, failedKey, ...(line === undefined ? {} : { line }) };
  return { kind: 'problem', ...place, reason: `${where}: ${row.error.message}` };
}

function rowEntry(row: ParsedRow, rowNumber: number, line: number, header: string[], decoder: TextDecoder): FileEntry {
  const place: FileEntryPlace = { ordinal: rowNumber, position: rowNumber, line, where: `line ${line}`, failedKey: `line:${line}` };
  const problem = (why: string): FileEntry => ({ kind: 'problem', ...place, reason: `${place.where}: ${why}` });
  if (row.record.length !== header.length) {
    return problem(`${plural(row.record.length, 'field')}, the header has ${header.length}`);
  }
  const fields: Record<string, unknown> = {};
  for (let index = 0; index < header.length; index += 1) {
    const name = header[index] ?? '';
    const raw = row.record[index] ?? '';
    let value: string;
    try {
      value = typeof raw === 'string' ? raw : decoder.decode(raw);
    } catch {
      return problem(`column ${JSON.stringify(name)} is not valid UTF-8`);
    }
    if (value.includes(nul)) {
      return problem(`column ${JSON.stringify(name)} contains a NUL byte (is the file binary, or UTF-16 without a byte order mark?)`);
    }
    // defineProperty: a column named "__proto__" must stay a plain field.
    Object.defineProperty(fields, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return { kind: 'object', ...place, fields };
}

export async function* readCsv(path: string, options: CsvReadOptions): AsyncGenerator<FileEntry> {
  const rows = parse({
    bom: true,
    delimiter: options.delimiter,
    encoding: null,
    info: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
  });
  rows.on('skip', (error: CsvError) => rows.push(new SkippedRow(error)));
  // A read error or abort destroys `rows` with it, so it surfaces in the loop below.
  const feeding = pipeline(Readable.from(withoutLeadingBom(readFileChunks(path, options.signal))), rows).catch(
    () => undefined,
  );
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let header: string[] | undefined;
  let rowNumber = 0;
  const lines = new LineCounter();
  try {
    for await (const item of rows as AsyncIterable<CsvItem>) {
      if (header === undefined) {
        header = readHeader(item, path, decoder);
        if (!(item instanceof SkippedRow)) lines.startOf(item);
        continue;
      }
      rowNumber += 1;
      if (item instanceof SkippedRow) {
        if (rowNumber > options.skip) yield skippedEntry(item, rowNumber, lines);
        continue;
      }
      // Counted even for rows passed over on resume: a row's line depends on the rows before it.
      const line = lines.startOf(item);
      if (rowNumber > options.skip) yield rowEntry(item, rowNumber, line, header, decoder);
    }
  } finally {
    rows.destroy();
    await feeding;
  }
}

export async function countCsvEntries(path: string, delimiter: string, signal?: AbortSignal): Promise<number> {
  let count = 0;
  for await (const _entry of readCsv(path, { skip: 0, delimiter, signal })) count += 1;
  return count;
}
