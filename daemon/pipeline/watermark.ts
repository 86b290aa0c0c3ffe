// Tracks how far the source has been finished without a gap: records finish out of order,
// but a resume may only skip what lies before the first unfinished one.
import type { ResumeCursor } from '../sources/source';

export class Watermark {
  private readonly cursors: (ResumeCursor | undefined)[] = [];
  private readonly finished: boolean[] = [];
  private head = 0;
  private base = 0;
  private mark: ResumeCursor | null;

  constructor(start: ResumeCursor | null) {
    this.mark = start;
  }

  /** Registers the next item in read order; returns its sequence number. */
  add(cursor: ResumeCursor): number {
    this.cursors.push(cursor);
    this.finished.push(false);
    return this.base + this.cursors.length - 1;
  }

  finish(sequence: number): void {
    this.finished[sequence - this.base] = true;
    while (this.head < this.finished.length && this.finished[this.head]) {
      this.mark = this.cursors[this.head] ?? this.mark;
      this.cursors[this.head] = undefined;
      this.head += 1;
    }
    // Compact now and then so the arrays stay as small as the unfinished window.
    if (this.head > 4096 && this.head * 2 > this.cursors.length) {
      this.cursors.splice(0, this.head);
      this.finished.splice(0, this.head);
      this.base += this.head;
      this.head = 0;
    }
  }

  /** The cursor of the last record before which everything is finished. */
  get cursor(): ResumeCursor | null {
    return this.mark;
  }
}
