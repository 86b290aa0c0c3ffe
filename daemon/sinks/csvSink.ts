// `sink.type: "csv"`: a header row, then one row per finished record with the answer's
// top-level fields as columns (nested values as JSON).
import { FileAppender } from './fileAppender';
import { outputColumns, type OutputColumn } from './outputColumns';
import type { ResultRow, ResultSink } from './sink';

/** RFC 4180 quoting: fields with a comma, quote or line break are quoted, quotes doubled. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvHeader(columns: readonly OutputColumn[]): string {
  return `${['key', 'status', ...columns.map((column) => column.column), 'error', 'error_class', 'model', 'cost_usd'].map(csvField).join(',')}\r\n`;
}

export function csvRow(row: ResultRow, columns: readonly OutputColumn[]): string {
  const fields = [row.key, row.status, ...columns.map((column) => row.output?.[column.field]), row.error, row.errorClass, row.model, Number(row.costUsd.toPrecision(12))];
  return `${fields.map(csvField).join(',')}\r\n`;
}

export class CsvSink implements ResultSink {
  private readonly file: FileAppender;
  private readonly columns: OutputColumn[];

  constructor(path: string, outputSchema: Record<string, unknown>) {
    this.file = new FileAppender(path);
    this.columns = outputColumns(outputSchema);
  }

  get description(): string {
    return `csv ${this.file.path}`;
  }

  async open(checkpoint: string | null): Promise<void> {
    await this.file.open(checkpoint);
  }

  async write(rows: readonly ResultRow[]): Promise<string> {
    const header = this.file.isEmpty ? csvHeader(this.columns) : '';
    return this.file.append(header + rows.map((row) => csvRow(row, this.columns)).join(''));
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
