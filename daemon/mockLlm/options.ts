// The mock LLM server's options: one zod schema that both `startMockLlm` (in-process tests)
// and `drover mock-llm` (flags) parse into, so defaults and limits are stated once.
import { z } from 'zod';

export const defaultMockModels = [
  'mock-analyst',
  'gpt-4.1',
  'gpt-4.1-mini',
  'gpt-4.1-nano',
  'gpt-4o',
  'gpt-4o-mini',
  'gpt-5',
  'gpt-5-mini',
  'gpt-5-nano',
  'claude-opus-4-5',
  'claude-sonnet-4-5',
  'claude-haiku-4-5',
] as const;

const probability = z.number().min(0).max(1).default(0);
const positiveInt = z.number().int().positive();

export const mockLlmOptionsSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1').describe('Interface to listen on.'),
    port: z.number().int().min(0).max(65_535).default(0).describe('0 picks a free port.'),
    models: z.array(z.string().min(1)).min(1).default([...defaultMockModels]).describe('Model ids served.'),
    latencyMs: z.number().min(0).default(0).describe('Delay before each answer.'),
    latencyPerTokenMs: z.number().min(0).default(0).describe('Extra delay per completion token.'),
    jitter: z.number().min(0).max(1).default(0).describe('Latency varies by ± this fraction.'),
    rpm: positiveInt.optional().describe('Requests admitted per window.'),
    tpm: positiveInt.optional().describe('Tokens (prompt + max_tokens) admitted per window.'),
    itpm: positiveInt.optional().describe('Input tokens admitted per window on /v1/messages (Anthropic ITPM).'),
    otpm: positiveInt.optional().describe('Output tokens per window on /v1/messages (Anthropic OTPM): full → 429.'),
    windowMs: positiveInt.default(60_000).describe('Length of the sliding rate-limit window.'),
    rateLimitHeaders: z.boolean().default(true).describe('Send x-ratelimit-* headers when a limit is set.'),
    context: positiveInt.optional().describe('Context length: prompt + max_tokens above it is rejected.'),
    apiKey: z.string().min(1).optional().describe('The only key accepted (Authorization: Bearer, or x-api-key on /v1/messages).'),
    quotaAfter: z.number().int().min(0).optional().describe('After this many admitted requests, insufficient_quota.'),
    fail500: probability.describe('Probability of a 500.'),
    fail503: probability.describe('Probability of a 503.'),
    failReset: probability.describe('Probability the socket is destroyed without an answer.'),
    failHang: probability.describe('Probability the request is never answered.'),
    failBadJson: probability.describe('Probability the content is cut mid-way (invalid JSON).'),
    failDrop: probability.describe("Probability one record's result is missing."),
    failTruncate: probability.describe('Probability of finish_reason "length" with the content cut.'),
    failOverloaded: probability.describe('Probability of an overloaded answer: 529 on /v1/messages, 503 on chat completions.'),
    batchProcessingMs: z.number().int().min(0).default(200).describe('How long a message batch stays in_progress.'),
    batchExpire: probability.describe('Probability that a message batch request ends "expired".'),
    seed: z.number().int().optional().describe('Seed for the fault and jitter draws; random when absent.'),
    trackRecords: z.boolean().default(true).describe('Count answers per record id (GET /stats/records).'),
    batchDelayMs: z.number().int().min(0).default(1000).describe('How long a batch takes from validating to completed.'),
    batchFailLine: probability.describe('Probability a batch line fails (written to the error file; an "errored" api_error line in a message batch).'),
    batchExpireFirst: z.number().int().min(0).default(0).describe('The first N batches expire with half of their lines unanswered.'),
    batchMaxRequests: positiveInt.default(50_000).describe('Requests (lines) a batch input file may hold.'),
    batchMaxFileBytes: positiveInt.default(200 * 1024 * 1024).describe('Bytes a batch input file may have.'),
    trackArrivals: z
      .boolean()
      .default(false)
      .describe('Keep every chat request\'s arrival (time, tokens, admitted or 429) for GET /stats/arrivals.'),
  })
  .refine(
    (options) =>
      options.fail500 +
        options.fail503 +
        options.failReset +
        options.failHang +
        options.failBadJson +
        options.failDrop +
        options.failTruncate +
        options.failOverloaded <=
      1,
    // One draw picks at most one fault per request, so the probabilities share [0, 1).
    { message: 'the failure probabilities (--fail-*) must add up to at most 1' },
  );

export type MockLlmOptions = z.infer<typeof mockLlmOptionsSchema>;
export type MockLlmOptionsInput = z.input<typeof mockLlmOptionsSchema>;

/** Not data, so not in the schema (which drops them): what the embedder plugs in. */
export interface MockLlmHooks {
  /** Milliseconds, monotonic: the rate limiter's clock, which tests can drive. */
  now?: () => number;
  /** A bug in the mock itself (answered as a 500); the CLI logs it. */
  onInternalError?: (error: unknown) => void;
}
