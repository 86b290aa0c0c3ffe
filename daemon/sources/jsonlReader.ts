// JSON Lines (.jsonl / .ndjson): one JSON object per line. A bad line becomes a problem entry
// naming its line; every other line is unaffected.
import { readFileChunks, withoutLeadingBom } from './fileChunks';
import type { FileEntry, FileEntryPlace, FileReadOptions } from './fileEntry';
import { countNonBlankLines, splitLines } from './lineSplitter';

/** Longer lines are reported instead of held in memory; 20 MB records are well within it. */
export const maxJsonlLineBytes = 64 * 1024 * 1024;

export function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return 'an object';
}

function formatBytes(bytes: number): string {
  const mebibyte = 1024 * 1024;
  return bytes >= mebibyte ? `${Math.floor(bytes / mebibyte)} MB` : `${bytes} bytes`;
}

function parseLine(bytes: Buffer, decoder: TextDecoder, place: FileEntryPlace): FileEntry {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { kind: 'problem', ...place, reason: `${place.where}: not valid UTF-8` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { kind: 'problem', ...place, reason: `${place.where}: not valid JSON (${(error as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'problem', ...place, reason: `${place.where}: expected a JSON object, got ${describeJsonType(value)}` };
  }
  return { kind: 'object', ...place, fields: value as Record<string, unknown> };
}

export async function* readJsonl(
  path: string,
  options: FileReadOptions,
  maxLineBytes = maxJsonlLineBytes,
): AsyncGenerator<FileEntry> {
  // fatal: invalid bytes must fail the line, not become U+FFFD in a prompt.
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let ordinal = 0;
  for await (const line of splitLines(withoutLeadingBom(readFileChunks(path, options.signal)), { maxLineBytes })) {
    if (line.blank) continue;
    ordinal += 1;
    if (ordinal <= options.skip) continue;
    const place: FileEntryPlace = {
      ordinal,
      position: line.number,
      line: line.number,
      where: `line ${line.number}`,
      failedKey: `line:${line.number}`,
    };
    if (line.bytes === undefined) {
      yield { kind: 'problem', ...place, reason: `${place.where}: longer than ${formatBytes(maxLineBytes)}, too large for one record` };
      continue;
    }
    yield parseLine(line.bytes, decoder, place);
  }
}

export function countJsonlEntries(path: string, signal?: AbortSignal): Promise<number> {
  return countNonBlankLines(withoutLeadingBom(readFileChunks(path, signal)), maxJsonlLineBytes);
}
