// What an estimate says before a job runs: tokens, requests, cost for the chosen model and
// the alternatives, and the duration under the limits. A leaf module.
import { z } from 'zod';

export const modelCostSchema = z.object({
  model: z.string(),
  inputPerMTok: z.number().nullable(),
  outputPerMTok: z.number().nullable(),
  /** Null when no price is known for the model. */
  costUsd: z.number().nullable(),
  chosen: z.boolean(),
});

export const jobEstimateSchema = z.object({
  jobId: z.string(),
  records: z.object({
    total: z.number(),
    totalExact: z.boolean(),
    /** How many records were read to make the estimate. */
    scanned: z.number(),
    /** `all`, `random` (a uniform sample) or `first` (the first records only). */
    basis: z.enum(['all', 'random', 'first']),
    malformed: z.number(),
    templateErrors: z.number(),
    oversize: z.number(),
  }),
  tokenizer: z.object({ name: z.string(), exact: z.boolean() }),
  requests: z.number(),
  tokens: z.object({ prompt: z.number(), output: z.number(), perRecordInput: z.number() }),
  models: z.array(modelCostSchema),
  /** Which price the models' costs are at: online, or the batch API's (mode "batch"). */
  pricing: z.enum(['online', 'batch']).optional(),
  duration: z.object({
    seconds: z.number().nullable(),
    limitedBy: z.enum(['rpm', 'tpm', 'none']),
    note: z.string(),
  }),
});
export type JobEstimate = z.infer<typeof jobEstimateSchema>;
export type ModelCost = z.infer<typeof modelCostSchema>;

export const previewRecordSchema = z.object({
  key: z.string(),
  line: z.number().nullable(),
  fields: z.record(z.string(), z.unknown()),
  /** The rendered input the model would see, or null when the record cannot be rendered. */
  input: z.string().nullable(),
  error: z.string().nullable(),
  inputTokens: z.number(),
  estimatedCostUsd: z.number().nullable(),
});
export type PreviewRecord = z.infer<typeof previewRecordSchema>;
