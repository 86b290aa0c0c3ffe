// `sink.type: "jsonl"`: one object per finished record — key, status, output, error.
import { FileAppender } from './fileAppender';
import type { ResultRow, ResultSink } from './sink';

export function jsonlLine(row: ResultRow): string {
  return `${JSON.stringify({ key: row.key, status: row.status, output: row.output, error: row.error, errorClass: row.errorClass })}\n`;
}

export class JsonlSink implements ResultSink {
  private readonly file: FileAppender;

  constructor(path: string) {
    this.file = new FileAppender(path);
  }

  get description(): string {
    return `jsonl ${this.file.path}`;
  }

  open(checkpoint: string | null): Promise<void> {
    return this.file.open(checkpoint);
  }

  write(rows: readonly ResultRow[]): Promise<string> {
    return this.file.append(rows.map(jsonlLine).join(''));
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
