// A job's live state as the engine reports it: the CLI's progress line, the daemon's
// job.progress notification and the dashboard all read this one shape. A leaf module.
import { z } from 'zod';

export const jobStatusSchema = z.enum(['running', 'paused', 'done', 'cancelled']);
export type JobStatusName = z.infer<typeof jobStatusSchema>;

const bucketHeadroomSchema = z.object({ limit: z.number(), available: z.number() }).nullable();

/** Batch mode's view: the provider's batches and what is still waiting. */
export const batchProgressSchema = z.object({
  /** For people: "batch 2/3 in_progress, 1,234/50,000 done · 120 records waiting". */
  state: z.string(),
  batches: z.array(
    z.object({
      id: z.string().nullable(),
      status: z.string(),
      /** Requests (lines) in the batch and how many the provider has finished or failed. */
      total: z.number(),
      completed: z.number(),
      failed: z.number(),
    }),
  ),
  /** Records waiting for a batch (or for the online path). */
  waiting: z.number(),
});
export type BatchProgress = z.infer<typeof batchProgressSchema>;

export const jobProgressSchema = z.object({
  jobId: z.string(),
  status: jobStatusSchema,
  statusReason: z.string().nullable(),
  /** Why the job paused, when it did: `user`, `budget`, or the fatal error class. */
  pauseClass: z.string().nullable(),
  records: z.object({
    total: z.number().nullable(),
    totalExact: z.boolean(),
    done: z.number(),
    failed: z.number(),
    /** Answered from the content cache in this run, without a request. */
    cached: z.number(),
  }),
  requests: z.number(),
  retries: z.number(),
  rateLimited: z.number(),
  inFlight: z.number(),
  tokens: z.object({ prompt: z.number(), completion: z.number() }),
  costUsd: z.number(),
  /** Projected cost of the whole job at the rate so far; null until there is a rate. */
  projectedCostUsd: z.number().nullable(),
  budgetUsd: z.number().nullable(),
  rates: z.object({ recordsPerSec: z.number(), tokensPerSec: z.number() }),
  etaSec: z.number().nullable(),
  headroom: z.object({ requests: bucketHeadroomSchema, tokens: bucketHeadroomSchema, holdMs: z.number() }),
  endpoint: z.string(),
  elapsedSec: z.number(),
  /** Only in batch mode. */
  batch: batchProgressSchema.optional(),
});
export type JobProgress = z.infer<typeof jobProgressSchema>;

export const jobErrorEventSchema = z.object({
  jobId: z.string(),
  errorClass: z.string(),
  /** retried, split, failed (the record gave up) or fatal (the job paused). */
  outcome: z.enum(['retried', 'split', 'failed', 'fatal']),
  key: z.string().nullable(),
  message: z.string(),
});
export type JobErrorEvent = z.infer<typeof jobErrorEventSchema>;

export const jobLogEventSchema = z.object({
  jobId: z.string(),
  level: z.enum(['debug', 'info', 'warn', 'error']),
  message: z.string(),
});
export type JobLogEvent = z.infer<typeof jobLogEventSchema>;

export const jobSummarySchema = z.object({
  type: z.literal('summary'),
  jobId: z.string(),
  status: jobStatusSchema,
  statusReason: z.string().nullable(),
  records: z.object({ total: z.number(), done: z.number(), failed: z.number() }),
  requests: z.number(),
  retries: z.number(),
  rateLimited: z.number(),
  tokens: z.object({ prompt: z.number(), completion: z.number() }),
  costUsd: z.number(),
  elapsedSec: z.number(),
});
export type JobSummary = z.infer<typeof jobSummarySchema>;

/** The closing summary of a job, from its last progress. */
export function jobSummaryOf(progress: JobProgress): JobSummary {
  const { records } = progress;
  return {
    type: 'summary',
    jobId: progress.jobId,
    status: progress.status,
    statusReason: progress.statusReason,
    records: { total: records.total ?? records.done + records.failed, done: records.done, failed: records.failed },
    requests: progress.requests,
    retries: progress.retries,
    rateLimited: progress.rateLimited,
    tokens: progress.tokens,
    costUsd: progress.costUsd,
    elapsedSec: progress.elapsedSec,
  };
}
