// "Run on these records": the previewed records, and only those, go through the real
// engine as a short job of their own — same prompt, model, provider and limits — whose
// answers are reported as they land, after which the job is removed again. The job's name
// starts with `previewJobPrefix`, which keeps it out of the Jobs view.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DaemonClient, DaemonRpcError } from '../../daemon/daemonClient/daemonClient';
import type { PreviewRecord } from '../../daemon/protocol/estimate';
import { rpcErrorCode, type JobState } from '../../daemon/protocol/rpc';
import type { RecordAnswer } from '../../webview/protocol/previewMessages';

export const previewJobPrefix = 'drover-preview-';
/** The field that carries each record's preview key through the run. */
const keyField = '__drover_preview_key';

export interface PreviewRunOptions {
  client: DaemonClient;
  /** The spec the preview rendered with; its source is replaced by the chosen records. */
  spec: Record<string, unknown>;
  baseDir: string;
  records: readonly PreviewRecord[];
  secrets: Record<string, string>;
  onAnswers(answers: RecordAnswer[]): void;
}

export interface PreviewRunOutcome {
  state: 'done' | 'failed';
  message: string;
  answered: number;
}

export function isPreviewJob(jobId: string): boolean {
  return jobId.startsWith(previewJobPrefix);
}

export async function runPreviewRecords(options: PreviewRunOptions): Promise<PreviewRunOutcome> {
  const { client, records } = options;
  const folder = await mkdtemp(join(tmpdir(), 'drover-preview-run-'));
  const jobId = `${previewJobPrefix}${randomBytes(6).toString('hex')}`;
  const reported = new Set<string>();
  let answered = 0;
  const stops: (() => void)[] = [];
  try {
    const file = join(folder, 'records.jsonl');
    await writeFile(file, records.map((record) => JSON.stringify({ ...record.fields, [keyField]: record.key })).join('\n') + '\n');
    // No sink: the answers are read back from the ledger, then the job goes.
    const { sink: _sink, ...rest } = options.spec;
    const spec = { ...rest, name: jobId, source: { type: 'file', path: file, format: 'jsonl', key: keyField } };

    const stopped = new Promise<JobState>((resolve) => {
      stops.push(client.on('job.state', (state) => {
        if (state.jobId === jobId && !state.active) resolve(state);
      }));
    });
    let reading: Promise<void> = Promise.resolve();
    const readAnswers = () => {
      reading = reading.then(async () => {
        const page = await client.call('results.page', { jobId, offset: 0, limit: Math.min(1000, records.length) });
        const fresh = page.rows.filter((row) => !reported.has(row.key));
        for (const row of fresh) reported.add(row.key);
        answered += fresh.filter((row) => row.output !== null).length;
        if (fresh.length > 0) options.onAnswers(fresh.map((row) => ({ key: row.key, output: row.output, error: row.error })));
      }).catch(() => undefined); // the ledger may not exist for the first moment; the final read reports all
    };
    stops.push(client.on('job.progress', (progress) => {
      if (progress.jobId === jobId) readAnswers();
    }));

    await client.call('job.start', { spec, baseDir: options.baseDir, secrets: options.secrets });
    await client.call('job.subscribe', { jobId });
    const final = await stopped;
    readAnswers();
    await reading;
    if (final.status === 'done') {
      const unanswered = records.length - answered;
      return { state: 'done', answered, message: `Answered ${answered} of ${records.length} records${unanswered > 0 ? ` (${unanswered} failed)` : ''}.` };
    }
    return { state: 'failed', answered, message: final.statusReason ?? `The run stopped (${final.status}).` };
  } finally {
    for (const stop of stops) stop();
    await cleanUp(client, jobId);
    await rm(folder, { recursive: true, force: true });
  }
}

/** A stopped preview job is removed whatever happened; one still running is cancelled first. */
async function cleanUp(client: DaemonClient, jobId: string): Promise<void> {
  try {
    await client.call('job.cancel', { jobId });
  } catch {
    // not running, or never started
  }
  for (let attempt = 0; attempt < 20; attempt += 1) {
    try {
      await client.call('job.delete', { jobId });
      return;
    } catch (error) {
      if (!(error instanceof DaemonRpcError) || error.code !== rpcErrorCode.jobRunning) return;
      // still stopping: the runner lets go of the job a moment later
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
