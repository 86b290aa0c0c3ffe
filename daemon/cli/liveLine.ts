// One status line that rewrites itself on a terminal (a few times a second); when the
// output is a file or a pipe, a plain line every few seconds instead. Messages print above it.
const refreshMs = 250;
const plainEveryMs = 5000;

export class LiveLine {
  private last = '';
  private shownAt = 0;
  private shown = false;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  private get tty(): boolean {
    return Boolean(this.stream.isTTY);
  }

  update(text: string): void {
    this.last = text;
    const now = Date.now();
    if (!this.tty) {
      if (now - this.shownAt >= plainEveryMs) {
        this.shownAt = now;
        this.stream.write(`${text}\n`);
      }
      return;
    }
    if (now - this.shownAt < refreshMs) return;
    this.shownAt = now;
    const width = this.stream.columns || 120;
    this.stream.write(`\r\x1b[2K${text.length > width - 1 ? `${text.slice(0, width - 2)}…` : text}`);
    this.shown = true;
  }

  print(message: string): void {
    this.clear();
    this.stream.write(`${message}\n`);
    if (this.tty && this.last) this.update(this.last);
  }

  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
    this.shownAt = 0;
  }
}
