// Writes a job's results to a JSONL or CSV file the user chose, page by page over the
// daemon's results.page (so it works the same whether the daemon is this machine's or
// not), in the same format as `drover export`.
import { open } from 'node:fs/promises';
import type { DaemonClient } from '../../daemon/daemonClient/daemonClient';
import { csvHeader, csvRow } from '../../daemon/sinks/csvSink';
import { jsonlLine } from '../../daemon/sinks/jsonlSink';
import { outputColumns } from '../../daemon/sinks/outputColumns';

export type ExportFormat = 'jsonl' | 'csv';

const pageSize = 1000;

export function exportFormatOf(path: string): ExportFormat {
  return path.toLowerCase().endsWith('.csv') ? 'csv' : 'jsonl';
}

export async function exportResults(
  client: DaemonClient,
  jobId: string,
  path: string,
  options: { signal?: AbortSignal; onProgress?: (written: number, total: number) => void } = {},
): Promise<number> {
  const format = exportFormatOf(path);
  const { spec } = await client.call('job.get', { jobId });
  const output = typeof spec.output === 'object' && spec.output !== null ? (spec.output as Record<string, unknown>) : {};
  const columns = outputColumns(output);
  // One write per page: a full disk or a read-only folder fails the export, not the host.
  const file = await open(path, 'w');
  let written = 0;
  try {
    if (format === 'csv') await file.write(csvHeader(columns));
    for (let offset = 0; ; offset += pageSize) {
      options.signal?.throwIfAborted();
      const page = await client.call('results.page', { jobId, offset, limit: pageSize });
      await file.write(page.rows.map((row) => (format === 'csv' ? csvRow(row, columns) : jsonlLine(row))).join(''));
      written += page.rows.length;
      options.onProgress?.(written, page.total);
      if (page.rows.length < pageSize) break;
    }
  } finally {
    await file.close();
  }
  return written;
}
