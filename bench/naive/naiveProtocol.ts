// What the bench hands the naive baseline (one JSON argument) and what it prints back (its
// last stdout line): the only contract between the two processes.
import { z } from 'zod';

export const naiveConfigSchema = z.object({
  source: z.discriminatedUnion('type', [
    z.object({ type: z.literal('sqlite'), path: z.string(), records: z.number().int().positive() }),
    z.object({ type: z.literal('postgres'), url: z.string(), table: z.string(), records: z.number().int().positive() }),
  ]),
  baseUrl: z.string(),
  model: z.string(),
  concurrency: z.number().int().positive(),
  recordsPerRequest: z.number().int().positive().default(100),
  /** The per-minute request counter; none when absent. */
  rpm: z.number().positive().optional(),
  maxAttempts: z.number().int().positive().default(6),
  baseDelayMs: z.number().int().min(0).default(500),
  /** SQLite file the results go to at the end (table `results`). */
  resultsPath: z.string(),
});
export type NaiveConfig = z.input<typeof naiveConfigSchema>;

export const naiveSummarySchema = z.object({
  records: z.number(),
  /** Records given an answer (by position); the bench checks them, not the baseline. */
  answered: z.number(),
  requests: z.number(),
  retries: z.number(),
  rateLimited: z.number(),
  /** Batches given up after maxAttempts. */
  failedBatches: z.number(),
  /** Stopped by SIGTERM before the end. */
  stopped: z.boolean(),
  loadSec: z.number(),
});
export type NaiveSummary = z.infer<typeof naiveSummarySchema>;
