// A .json file holding one array of objects, streamed with stream-json so the array is
// never in memory whole. A syntax error cannot be skipped past (the parser has no way to
// resync), so it ends the read with one problem entry; the elements before it stand.
import { parser as jsonTokenParser } from 'stream-json';
import { streamArray } from 'stream-json/streamers/StreamArray';
import { readFileChunks } from './fileChunks';
import type { FileEntry, FileEntryPlace, FileReadOptions } from './fileEntry';
import { describeJsonType } from './jsonlReader';
import { JsonFeed } from './jsonFeed';

interface ArrayElement {
  key: number;
  value: unknown;
}

function elementPlace(index: number): FileEntryPlace {
  const number = index + 1;
  return { ordinal: number, position: number, where: `element ${number}`, failedKey: `element:${number}` };
}

function elementEntry(element: ArrayElement): FileEntry {
  const place = elementPlace(element.key);
  const { value } = element;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'problem', ...place, reason: `${place.where}: expected a JSON object, got ${describeJsonType(value)}` };
  }
  return { kind: 'object', ...place, fields: value as Record<string, unknown> };
}

function unreadableRestEntry(elementsRead: number, cause: string): FileEntry {
  const place = elementPlace(elementsRead);
  const before =
    elementsRead === 0
      ? 'No element could be read.'
      : elementsRead === 1
        ? 'The element before it was read.'
        : `The ${elementsRead} elements before it were read.`;
  return { kind: 'problem', ...place, reason: `${place.where} and all after it could not be read: ${cause}. ${before}` };
}

export async function* readJsonArray(path: string, options: FileReadOptions): AsyncGenerator<FileEntry> {
  // autoDestroy off: on a syntax error the tokens already parsed must still reach the
  // array assembler (a destroyed stream drops them), so the elements before the error stand.
  const tokens = jsonTokenParser({ autoDestroy: false, decodeStrings: false });
  const elements = streamArray();
  const stop = new AbortController();
  const feed = new JsonFeed(tokens, elements);
  const signal = options.signal === undefined ? stop.signal : AbortSignal.any([options.signal, stop.signal]);
  let readError: unknown;
  const feeding = feed.run(readFileChunks(path, signal), stop.signal).catch((error: unknown) => {
    // Reading the file failed (or was aborted): that is the reader's error, not a bad element.
    if (stop.signal.aborted) return;
    readError = error;
    elements.destroy(error as Error);
  });

  let elementsRead = 0;
  let notAnArray = false;
  try {
    for await (const element of elements as AsyncIterable<ArrayElement>) {
      elementsRead = element.key + 1;
      if (elementsRead > options.skip) yield elementEntry(element);
    }
  } catch (error) {
    options.signal?.throwIfAborted();
    if (readError !== undefined) throw error;
    // The only error of stream-json's array streamer: the top-level value is not an array.
    notAnArray = true;
  } finally {
    stop.abort();
    tokens.destroy();
    elements.destroy();
    await feeding;
  }

  const cause = notAnArray ? 'the top-level JSON value is not an array' : feed.failure;
  if (cause !== undefined && elementsRead + 1 > options.skip) yield unreadableRestEntry(elementsRead, cause);
}

export async function countJsonArrayEntries(path: string, signal?: AbortSignal): Promise<number> {
  let count = 0;
  for await (const _entry of readJsonArray(path, { skip: 0, signal })) count += 1;
  return count;
}
