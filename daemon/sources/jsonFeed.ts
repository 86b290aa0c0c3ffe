// Feeds a file's bytes to stream-json's parser and remembers where each piece came from.
// stream-json's errors carry no position (only a message such as "Parser cannot parse
// input: expected ','"), so the input is written in pieces of at most one line and
// `pieceBytes`, and a failing write names its piece's line and bytes. The parser looks at
// most a few characters ahead, so the fault is in that piece or just before it.
import { once } from 'node:events';
import type { Transform } from 'node:stream';

const pieceBytes = 4096;
const newline = 0x0a;

function* piecesOf(chunk: Buffer): Generator<Buffer> {
  let start = 0;
  while (start < chunk.length) {
    const lineEnd = chunk.indexOf(newline, start);
    const end = Math.min(lineEnd === -1 ? chunk.length : lineEnd + 1, start + pieceBytes);
    yield chunk.subarray(start, end);
    start = end;
  }
}

export class JsonFeed {
  /** Why the rest of the file cannot be read, once parsing or decoding has failed. */
  failure: string | undefined;
  private line = 1;
  private byteOffset = 0;

  constructor(
    private readonly tokens: Transform,
    private readonly elements: Transform,
  ) {
    tokens.pipe(elements);
    // Write errors reach the write's callback first (with the piece's position); what is
    // left is the parser's last check when the input ends.
    tokens.on('error', (error: Error) => {
      this.fail(`the file ends inside the JSON (line ${this.line}); stream-json says ${JSON.stringify(error.message)}`);
    });
  }

  async run(chunks: AsyncIterable<Buffer>, stop: AbortSignal): Promise<void> {
    // fatal: invalid bytes must stop the read, not become U+FFFD in a prompt.
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let sawValue = false;
    for await (const chunk of chunks) {
      for (const piece of piecesOf(chunk)) {
        if (this.failure !== undefined || stop.aborted) return;
        const where = `on or shortly before line ${this.line} (file bytes ${this.byteOffset}–${this.byteOffset + piece.length - 1})`;
        let text: string;
        try {
          text = decoder.decode(piece, { stream: true });
        } catch {
          this.fail(`invalid UTF-8 ${where}`);
          return;
        }
        if (piece.at(-1) === newline) this.line += 1;
        this.byteOffset += piece.length;
        if (!sawValue && text.trim() !== '') sawValue = true;
        const accepted = this.tokens.write(text, (error) => {
          if (error) this.fail(`a JSON syntax error ${where}; stream-json says ${JSON.stringify(error.message)}`);
        });
        if (!accepted && !(await this.drained(stop))) return;
      }
    }
    try {
      decoder.decode();
    } catch {
      this.fail(`invalid UTF-8 at the end of the file (line ${this.line})`);
      return;
    }
    // An empty or blank file holds no records; the parser would call it an error.
    if (!sawValue) this.tokens.write('[]');
    this.tokens.end();
  }

  private async drained(stop: AbortSignal): Promise<boolean> {
    try {
      await once(this.tokens, 'drain', { signal: stop });
      return true;
    } catch {
      // Stopped, or the parser failed meanwhile (recorded by its error listener).
      return false;
    }
  }

  private fail(cause: string): void {
    if (this.failure !== undefined) return;
    this.failure = cause;
    // A failed parser never emits 'end', so the pipe would never end the array streamer:
    // hand it the tokens parsed before the fault ourselves, then end it.
    this.tokens.unpipe(this.elements);
    for (let token: unknown = this.tokens.read(); token !== null; token = this.tokens.read()) this.elements.write(token);
    this.elements.end();
  }
}
