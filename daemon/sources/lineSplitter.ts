// Splits raw bytes into lines without decoding them, so a line of invalid UTF-8 can be
// reported on its own instead of being silently turned into U+FFFD by a stream decoder,
// and a resume can skip lines without parsing them.

export interface SplitLine {
  /** 1-based line number in the file. */
  number: number;
  /** Only spaces, tabs and carriage returns (or nothing at all). */
  blank: boolean;
  /** The line without its "\n" and trailing "\r"; absent when longer than `maxLineBytes` or not kept. */
  bytes?: Buffer;
  /** Longer than `maxLineBytes`: its bytes were dropped as they came, to keep memory bounded. */
  tooLong: boolean;
}

export interface SplitOptions {
  maxLineBytes: number;
  /** False when only line numbers and blankness matter (counting), so long lines are never joined. */
  keepBytes?: boolean;
}

const newline = 0x0a;
const carriageReturn = 0x0d;

function isBlank(bytes: Uint8Array): boolean {
  for (let index = 0; index < bytes.length; index += 1) {
    const byte = bytes[index];
    if (byte !== 0x20 && byte !== 0x09 && byte !== carriageReturn) return false;
  }
  return true;
}

export async function* splitLines(chunks: AsyncIterable<Buffer>, options: SplitOptions): AsyncGenerator<SplitLine> {
  const keepBytes = options.keepBytes ?? true;
  let pieces: Buffer[] = [];
  let length = 0;
  let blank = true;
  let tooLong = false;
  let number = 0;

  const addPiece = (piece: Buffer) => {
    // Checking stops at the first non-blank byte, which is almost always the first one.
    if (blank) blank = isBlank(piece);
    length += piece.length;
    if (length > options.maxLineBytes) {
      tooLong = true;
      pieces = [];
    } else if (keepBytes && piece.length > 0) {
      pieces.push(piece);
    }
  };
  const finishLine = (): SplitLine => {
    number += 1;
    let bytes: Buffer | undefined;
    if (keepBytes && !tooLong) {
      bytes = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, length);
      if (bytes.at(-1) === carriageReturn) bytes = bytes.subarray(0, -1);
    }
    const line: SplitLine = { number, blank, tooLong, ...(bytes === undefined ? {} : { bytes }) };
    pieces = [];
    length = 0;
    blank = true;
    tooLong = false;
    return line;
  };

  for await (const chunk of chunks) {
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(newline, start);
      addPiece(chunk.subarray(start, end === -1 ? chunk.length : end));
      if (end === -1) break;
      yield finishLine();
      start = end + 1;
    }
  }
  // A last line without a final "\n" still counts; a file ending in "\n" has no extra line.
  if (length > 0) yield finishLine();
}

/** Lines with something on them, counted from the bytes alone (never joined or decoded). */
export async function countNonBlankLines(chunks: AsyncIterable<Buffer>, maxLineBytes: number): Promise<number> {
  let count = 0;
  for await (const line of splitLines(chunks, { maxLineBytes, keepBytes: false })) {
    if (!line.blank) count += 1;
  }
  return count;
}
