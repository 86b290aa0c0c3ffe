// The dashboard header's words for a job's spec (as the daemon stored it, paths resolved):
// where records come from, where answers go, and the limits. Pure.
import { relative, isAbsolute } from 'node:path';
import type { JobProgress } from '../../daemon/protocol/jobProgress';
import type { JobInfo } from '../../daemon/protocol/rpc';
import { jobSpecSchema, type JobSpec } from '../../daemon/spec/jobSpec';
import type { JobSpecSummary } from '../../webview/protocol/dashboardMessages';

/** Paths inside the workspace read relative to it; a password in a URL never shows. */
function shownPath(path: string, workspaceRoot: string | undefined): string {
  if (!workspaceRoot) return path;
  const inside = relative(workspaceRoot, path);
  return inside.startsWith('..') || isAbsolute(inside) ? path : inside;
}

function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

function oneLine(text: string, max = 60): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function describeSource(source: JobSpec['source'], root: string | undefined): string {
  const what = (spec: { table?: string; query?: string }) => (spec.table !== undefined ? `table ${spec.table}` : oneLine(spec.query ?? ''));
  switch (source.type) {
    case 'sqlite':
      return `sqlite ${shownPath(source.path, root)} (${what(source)})`;
    case 'postgres':
      return `postgres ${withoutPassword(source.url)} (${what(source)})`;
    case 'file':
      return `${source.format ?? 'file'} ${shownPath(source.path, root)}`;
  }
}

function describeSink(sink: JobSpec['sink'], root: string | undefined): string | null {
  if (!sink) return null;
  switch (sink.type) {
    case 'jsonl':
    case 'csv':
      return `${sink.type} ${shownPath(sink.path, root)}`;
    case 'sqlite':
      return `sqlite ${sink.path ? shownPath(sink.path, root) : '(source database)'}${sink.table ? ` table ${sink.table}` : ''}`;
    case 'postgres':
      return `postgres ${sink.url ? withoutPassword(sink.url) : '(source database)'}${sink.table ? ` table ${sink.table}` : ''}`;
  }
}

export function summarizeSpec(stored: Record<string, unknown>, workspaceRoot: string | undefined): JobSpecSummary {
  const parsed = jobSpecSchema.safeParse(stored);
  if (!parsed.success) {
    // A ledger from another Drover version: show what can be read, not nothing.
    return {
      model: typeof stored.model === 'string' ? stored.model : 'unknown model',
      source: 'unknown source',
      sink: null,
      limits: { concurrency: 1, rpm: null, tpm: null },
      budgetUsd: null,
    };
  }
  const spec = parsed.data;
  return {
    model: spec.model,
    source: describeSource(spec.source, workspaceRoot),
    sink: describeSink(spec.sink, workspaceRoot),
    limits: { concurrency: spec.limits.concurrency, rpm: spec.limits.rpm ?? null, tpm: spec.limits.tpm ?? null },
    budgetUsd: spec.limits.budgetUsd ?? null,
  };
}

/**
 * The dashboard draws from progress; a job that has not run since the daemon started has
 * only its ledger's numbers, which are turned into a progress at rest.
 */
export function progressAtRest(info: JobInfo, pauseClass: string | null, budgetUsd: number | null): JobProgress {
  return {
    jobId: info.jobId,
    status: info.status,
    statusReason: info.statusReason,
    pauseClass: info.status === 'paused' ? pauseClass : null,
    records: { ...info.records, cached: 0 },
    requests: 0,
    retries: 0,
    rateLimited: 0,
    inFlight: 0,
    tokens: info.tokens,
    costUsd: info.costUsd,
    projectedCostUsd: null,
    budgetUsd,
    rates: { recordsPerSec: 0, tokensPerSec: 0 },
    etaSec: null,
    headroom: { requests: null, tokens: null, holdMs: 0 },
    endpoint: '',
    elapsedSec: 0,
  };
}
