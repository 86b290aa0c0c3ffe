// Every message between a job's dashboard webview and the extension, in both directions.
// A leaf module (zod and the daemon's protocol only) that the webview and the extension
// both import, so neither side can post a message the other cannot read.
import { z } from 'zod';
import { jobEstimateSchema } from '../../daemon/protocol/estimate';
import { jobProgressSchema } from '../../daemon/protocol/jobProgress';
import { errorClassCountSchema, resultRowSchema } from '../../daemon/protocol/rpc';

/** What the header says about the job's spec; the extension words it, the webview shows it. */
export const jobSpecSummarySchema = z.object({
  model: z.string(),
  /** e.g. `sqlite data/feedback.db (SELECT id, text FROM feedback)`. */
  source: z.string(),
  /** e.g. `jsonl out/sentiment.jsonl`; null when results stay in the ledger only. */
  sink: z.string().nullable(),
  limits: z.object({
    concurrency: z.number().int().positive(),
    rpm: z.number().positive().nullable(),
    tpm: z.number().positive().nullable(),
  }),
  budgetUsd: z.number().positive().nullable(),
});
export type JobSpecSummary = z.infer<typeof jobSpecSummarySchema>;

/** One sample of the throughput chart; `elapsedSec` is the job's, cumulative over runs. */
export const chartPointSchema = z.object({
  elapsedSec: z.number().nonnegative(),
  recordsPerSec: z.number().nonnegative(),
  tokensPerSec: z.number().nonnegative(),
});
export type ChartPoint = z.infer<typeof chartPointSchema>;

export const resultsPageSchema = z.object({
  offset: z.number().int().nonnegative(),
  limit: z.number().int().positive(),
  /** How many results the job has in all, for the pager. */
  total: z.number().int().nonnegative(),
  rows: z.array(resultRowSchema),
});
export type ResultsPage = z.infer<typeof resultsPageSchema>;
export type ResultRowMessage = ResultsPage['rows'][number];
export type ErrorClassCountMessage = z.infer<typeof errorClassCountSchema>;

// --- extension → webview -----------------------------------------------------------------

/** Everything the panel shows, sent after `ready` and whenever the panel becomes visible. */
export const dashboardSnapshotSchema = z.object({
  type: z.literal('snapshot'),
  jobId: z.string().min(1),
  name: z.string(),
  spec: jobSpecSummarySchema,
  /** Null until the job has reported once (a job that has not started in this daemon). */
  progress: jobProgressSchema.nullable(),
  errors: z.array(errorClassCountSchema),
  results: resultsPageSchema,
  estimate: jobEstimateSchema.nullable(),
  /** The chart so far as the extension saw it; merged with what the webview kept. */
  history: z.array(chartPointSchema),
});
export type DashboardSnapshot = z.infer<typeof dashboardSnapshotSchema>;

export const extensionToDashboardSchema = z.discriminatedUnion('type', [
  dashboardSnapshotSchema,
  z.object({ type: z.literal('progress'), progress: jobProgressSchema }),
  /** The whole list of error classes (it is short), replacing the previous one. */
  z.object({ type: z.literal('errors'), errors: z.array(errorClassCountSchema) }),
  z.object({ type: z.literal('results'), page: resultsPageSchema }),
]);
export type ExtensionToDashboard = z.infer<typeof extensionToDashboardSchema>;

// --- webview → extension -----------------------------------------------------------------

const jobAction = <T extends string>(type: T) => z.object({ type: z.literal(type), jobId: z.string().min(1) });

export const dashboardToExtensionSchema = z.discriminatedUnion('type', [
  /** The webview has loaded and listens: answer with a snapshot. */
  z.object({ type: z.literal('ready') }),
  jobAction('pause'),
  jobAction('resume'),
  jobAction('cancel'),
  /** Export the results (the extension asks where). */
  jobAction('openResults'),
  /** The banner's "Set API Key" after the provider refused the key. */
  jobAction('setApiKey'),
  jobAction('showLogs'),
  jobAction('requestResults').extend({
    offset: z.number().int().nonnegative(),
    limit: z.number().int().min(1).max(1000),
  }),
]);
export type DashboardToExtension = z.infer<typeof dashboardToExtensionSchema>;
