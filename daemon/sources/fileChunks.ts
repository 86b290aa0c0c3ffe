// A source file as a stream of byte chunks: the one way the file readers touch the disk, so
// none of them can read a whole file into memory, and an abort closes the file at once.
import { createReadStream } from 'node:fs';

const chunkBytes = 64 * 1024;
const utf8Bom = Buffer.from([0xef, 0xbb, 0xbf]);

export async function* readFileChunks(path: string, signal?: AbortSignal): AsyncGenerator<Buffer> {
  // Leaving the loop early (return, throw, abort) destroys the stream, which closes the file.
  for await (const chunk of createReadStream(path, { highWaterMark: chunkBytes, signal })) {
    yield chunk as Buffer;
  }
}

/** Drops a UTF-8 byte order mark at the very start, even when the first chunk is shorter than it. */
export async function* withoutLeadingBom(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let head: Buffer | undefined = Buffer.alloc(0);
  for await (const chunk of chunks) {
    if (head === undefined) {
      yield chunk;
      continue;
    }
    head = Buffer.concat([head, chunk]);
    if (head.length < utf8Bom.length && utf8Bom.subarray(0, head.length).equals(head)) continue;
    const rest = head.subarray(0, utf8Bom.length).equals(utf8Bom) ? head.subarray(utf8Bom.length) : head;
    head = undefined;
    if (rest.length > 0) yield rest;
  }
  // A file shorter than a BOM that starts like one holds those bytes, not a BOM.
  if (head !== undefined && head.length > 0) yield head;
}
