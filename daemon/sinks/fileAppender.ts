// Appends to a results file durably. The checkpoint is the file's length after a write
// has reached the disk; reopening at a checkpoint cuts off whatever a crash left after it
// (a torn last line, or lines the ledger does not know were written).
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SinkError } from './sink';

export class FileAppender {
  private handle: FileHandle | null = null;
  private size = 0;

  constructor(readonly path: string) {}

  async open(checkpoint: string | null): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    // Create it if missing, then write at explicit offsets (append mode would ignore them).
    await (await open(this.path, 'a')).close();
    this.handle = await open(this.path, 'r+');
    const length = (await this.handle.stat()).size;
    const keep = checkpoint === null ? 0 : Number(checkpoint);
    if (!Number.isSafeInteger(keep) || keep < 0) throw new SinkError(`bad checkpoint ${checkpoint} for ${this.path}`);
    if (length > keep) await this.handle.truncate(keep);
    this.size = Math.min(length, keep);
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  async append(text: string): Promise<string> {
    if (!this.handle) throw new SinkError(`${this.path} is not open`);
    const bytes = Buffer.from(text, 'utf8');
    // A nearly full disk takes part of a write without an error (the next part gets ENOSPC);
    // the size only moves once all of it is there, so a retry or a resume cuts the part off.
    for (let written = 0; written < bytes.length; ) {
      const { bytesWritten } = await this.handle.write(bytes, written, bytes.length - written, this.size + written);
      written += bytesWritten;
    }
    await this.handle.datasync();
    this.size += bytes.length;
    return String(this.size);
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = null;
  }
}
