// The job spec (`*.drover.json`): the one definition that the CLI, the daemon, the
// extension and the editor's JSON Schema all derive from. A leaf module: zod only.
import { z } from 'zod';

const nonEmpty = z.string().min(1, 'must not be empty');

/** A JSON Schema object, kept as data: it describes one record's answer. */
export const jsonSchemaObject = z.record(z.string(), z.unknown());

export const defaultOutputSchema = {
  type: 'object',
  properties: {
    sentiment: { type: 'string', enum: ['positive', 'negative', 'neutral'] },
    score: { type: 'integer', minimum: 0, maximum: 100 },
  },
  required: ['sentiment', 'score'],
  additionalProperties: false,
} as const;

export const defaultSystemPrompt =
  'You analyse customer feedback. For each record, judge its overall sentiment ' +
  '(positive, negative or neutral) and give a score from 0 (very negative) to 100 (very positive).';

const exactlyOneOfQueryOrTable = (source: { query?: string | undefined; table?: string | undefined }) =>
  (source.query === undefined) !== (source.table === undefined);
const queryOrTableMessage = { message: 'give exactly one of "query" or "table"', path: ['query'] };

export const sqliteSourceSchema = z
  .object({
    type: z.literal('sqlite'),
    path: nonEmpty.describe('SQLite database file, relative to the spec file. Opened read-only.'),
    query: nonEmpty.optional().describe('Exactly one SELECT statement. Give this or "table".'),
    table: nonEmpty.optional().describe('A table to read whole. Give this or "query".'),
    key: nonEmpty.default('id').describe('Column that identifies a record; records are read in its order.'),
    pageSize: z.number().int().min(1).max(100_000).default(2000).describe('Rows read per keyset page.'),
  })
  .strict()
  .refine(exactlyOneOfQueryOrTable, queryOrTableMessage);

export const postgresSourceSchema = z
  .object({
    type: z.literal('postgres'),
    url: nonEmpty.describe('postgres://user@host:port/database — without the password.'),
    passwordEnv: nonEmpty.optional().describe('Environment variable that holds the password.'),
    query: nonEmpty.optional().describe('Exactly one SELECT statement. Give this or "table".'),
    table: nonEmpty.optional().describe('A table (optionally schema.table) to read whole. Give this or "query".'),
    key: nonEmpty.default('id').describe('Column that identifies a record; records are read in its order.'),
    pageSize: z.number().int().min(1).max(100_000).default(5000).describe('Rows read per keyset page.'),
    statementTimeoutMs: z.number().int().min(100).default(60_000).describe('statement_timeout for each page.'),
  })
  .strict()
  .refine(exactlyOneOfQueryOrTable, queryOrTableMessage);

export const fileSourceSchema = z
  .object({
    type: z.literal('file'),
    path: nonEmpty.describe('A .jsonl, .json (array of objects) or .csv file, relative to the spec file.'),
    format: z.enum(['jsonl', 'json', 'csv']).optional().describe('Defaults to the file extension.'),
    key: nonEmpty.optional().describe('Field that identifies a record; defaults to the line (or row) number.'),
    delimiter: z.string().length(1).default(',').describe('CSV field delimiter.'),
  })
  .strict();

export const sourceSchema = z.discriminatedUnion('type', [sqliteSourceSchema, postgresSourceSchema, fileSourceSchema]);

export const sinkSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('jsonl'), path: nonEmpty }).strict(),
  z.object({ type: z.literal('csv'), path: nonEmpty }).strict(),
  z
    .object({
      type: z.literal('sqlite'),
      path: nonEmpty.optional().describe('Database file; defaults to the source database.'),
      table: nonEmpty.optional().describe('Defaults to "<job name>_results".'),
    })
    .strict(),
  z
    .object({
      type: z.literal('postgres'),
      url: nonEmpty.optional().describe('Defaults to the source connection.'),
      passwordEnv: nonEmpty.optional(),
      table: nonEmpty.optional().describe('Defaults to "<job name>_results".'),
    })
    .strict(),
]);

export const providerApiSchema = z
  .enum(['openai', 'anthropic'])
  .describe(
    'The wire format: "openai" (chat completions, also what most other providers and local servers speak) or "anthropic" (the Messages API, natively).',
  );

/** What an endpoint of each API defaults to when the spec names neither a base URL nor a key variable. */
const providerApiDefaults = {
  openai: { baseUrl: 'https://api.openai.com/v1', apiKeyEnv: 'OPENAI_API_KEY' },
  anthropic: { baseUrl: 'https://api.anthropic.com/v1', apiKeyEnv: 'ANTHROPIC_API_KEY' },
} as const satisfies Record<z.infer<typeof providerApiSchema>, { baseUrl: string; apiKeyEnv: string }>;

export const ledgerSchema = z
  .object({
    postgres: nonEmpty.describe(
      'postgres://user@host:port/database — without the password. Several workers (daemons or `drover run`s) share the job through this database.',
    ),
    passwordEnv: nonEmpty.optional().describe('Environment variable that holds the password.'),
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a plain lowercase identifier: letters, digits and "_"')
      .default('drover')
      .describe('Schema that holds the ledger tables (created when missing).'),
    leaseMs: z
      .number()
      .int()
      .min(500)
      .max(3_600_000)
      .default(60_000)
      .describe('How long a claim lasts without a heartbeat; a worker stopped longer loses its records to the others.'),
    claimSize: z.number().int().min(1).max(10_000).optional().describe('Records claimed at a time; defaults to concurrency × recordsPerRequest.'),
  })
  .strict();

const endpointSchema = z
  .object({
    baseUrl: z.url().describe('Base URL, e.g. https://api.openai.com/v1 or https://api.anthropic.com/v1'),
    api: providerApiSchema.optional().describe('This endpoint\'s wire format; defaults to provider.api.'),
    apiKeyEnv: nonEmpty
      .optional()
      .describe("Environment variable that holds the API key; defaults to provider.apiKeyEnv (or, when this endpoint's api differs, that api's usual variable)."),
    headers: z.record(z.string(), z.string()).default({}),
    model: nonEmpty.optional().describe('Model name at this endpoint, when it differs.'),
  })
  .strict();

export const providerSchema = z
  .object({
    api: providerApiSchema.default('openai'),
    baseUrl: z
      .url()
      .optional()
      .describe('Defaults to https://api.openai.com/v1, or https://api.anthropic.com/v1 when api is "anthropic".'),
    apiKeyEnv: nonEmpty
      .optional()
      .describe('Environment variable that holds the API key. Defaults to OPENAI_API_KEY, or ANTHROPIC_API_KEY when api is "anthropic".'),
    headers: z.record(z.string(), z.string()).default({}).describe('Extra request headers.'),
    structuredOutput: z
      .enum(['json_schema', 'json_object', 'none'])
      .default('json_schema')
      .describe(
        'How the answer\'s form is enforced: response_format json_schema (OpenAI structured outputs), json_object (JSON mode), or none (the prompt alone) for providers without either. The Anthropic API has no such field: there the schema is always in the system prompt and the answer is read from the text.',
      ),
    fallbacks: z.array(endpointSchema).default([]).describe('Endpoints used while the primary keeps failing.'),
    connectTimeoutMs: z.number().int().min(100).default(10_000),
    headersTimeoutMs: z.number().int().min(100).default(120_000),
    requestTimeoutMs: z.number().int().min(100).default(300_000).describe('Deadline for a whole request.'),
    maxResponseBytes: z.number().int().min(1024).default(16 * 1024 * 1024),
  })
  .strict()
  // The defaults depend on `api`, so they are filled here rather than by .default(): every
  // reader of a parsed spec then sees a base URL and a key variable for every endpoint.
  .transform(({ baseUrl, apiKeyEnv, fallbacks, ...provider }) => {
    const defaults = providerApiDefaults[provider.api];
    const primaryKeyEnv = apiKeyEnv ?? defaults.apiKeyEnv;
    return {
      ...provider,
      baseUrl: baseUrl ?? defaults.baseUrl,
      apiKeyEnv: primaryKeyEnv,
      fallbacks: fallbacks.map((endpoint) => {
        const api = endpoint.api ?? provider.api;
        return { ...endpoint, api, apiKeyEnv: endpoint.apiKeyEnv ?? (api === provider.api ? primaryKeyEnv : providerApiDefaults[api].apiKeyEnv) };
      }),
    };
  });

export const batchingSchema = z
  .object({
    recordsPerRequest: z.number().int().min(1).max(500).default(20),
    maxPromptTokens: z.number().int().min(64).default(6000).describe('Prompt tokens per request, at most.'),
    maxOutputTokens: z
      .number()
      .int()
      .min(16)
      .optional()
      .describe('max_tokens per request; derived from the output schema when absent.'),
    oversize: z
      .enum(['fail', 'truncate'])
      .default('fail')
      .describe('What to do with a record too large for one request on its own.'),
  })
  .strict();

export const sharedLimitSchema = z
  .object({
    redis: z
      .url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379' })
      .describe('redis://host:port[/db] (rediss:// for TLS) of the Redis every engine uses — without the password.'),
    passwordEnv: nonEmpty.optional().describe('Environment variable that holds the Redis password (with a user in the URL, ACL).'),
    keyPrefix: z
      .string()
      .max(100)
      .default('drover:')
      .describe('Prefix of the Redis keys; engines share a limit only under the same prefix.'),
  })
  .strict();

export const limitsSchema = z
  .object({
    concurrency: z.number().int().min(1).max(1024).default(32),
    rpm: z.number().positive().optional().describe('Requests per minute allowed by the provider.'),
    tpm: z.number().positive().optional().describe('Tokens per minute allowed by the provider.'),
    budgetUsd: z.number().positive().optional().describe('Hard cap on spend; the job pauses before passing it.'),
    shared: sharedLimitSchema
      .optional()
      .describe('Share rpm/tpm with every engine (process or machine) sending to the same endpoint with the same key and model, through Redis.'),
  })
  .strict()
  .refine((limits) => !limits.shared || limits.rpm !== undefined || limits.tpm !== undefined, {
    message: 'a shared limit needs "rpm" and/or "tpm": the provider limit the engines share',
    path: ['shared'],
  });

export const retrySchema = z
  .object({
    maxAttempts: z.number().int().min(1).max(50).default(6),
    baseDelayMs: z.number().int().min(0).default(500),
    maxDelayMs: z.number().int().min(0).default(60_000),
  })
  .strict();

const megabyte = 1024 * 1024;

export const batchModeSchema = z
  .object({
    maxRequestsPerFile: z
      .number()
      .int()
      .min(1)
      .max(50_000)
      .default(50_000)
      .describe('Requests (JSONL lines) per uploaded batch file, at most; OpenAI allows 50,000.'),
    maxBytesPerFile: z
      .number()
      .int()
      .min(1024)
      .max(200 * megabyte)
      .default(200 * megabyte)
      .describe('Bytes per uploaded batch file, at most; OpenAI allows 200 MB.'),
    pollIntervalMs: z
      .number()
      .int()
      .min(10)
      .default(30_000)
      .describe("How often the provider is asked about the job's batches."),
    completionWindow: z.literal('24h').default('24h').describe('Time the provider has to finish a batch (OpenAI offers only 24h).'),
    maxSubmissions: z
      .number()
      .int()
      .min(1)
      .max(20)
      .default(3)
      .describe('Times a record whose line failed or expired is sent in a batch before it goes through the online path instead.'),
  })
  .strict();

export const priceSchema = z
  .object({
    inputPerMTok: z.number().min(0).describe('USD per million input tokens.'),
    outputPerMTok: z.number().min(0).describe('USD per million output tokens.'),
  })
  .strict();

export const jobSpecSchema = z
  .object({
    $schema: z.string().optional(),
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'letters, digits, "_", "-" and "." (at most 100)')
      .describe('Identifies the job: running the same name again resumes it.'),
    source: sourceSchema,
    prompt: z
      .object({
        system: nonEmpty.default(defaultSystemPrompt),
        template: nonEmpty.describe('Rendered per record; {{field}} and {{field.sub}} are replaced.'),
      })
      .strict(),
    output: jsonSchemaObject.default(defaultOutputSchema).describe("JSON Schema of one record's answer."),
    model: nonEmpty.default('gpt-4.1-mini'),
    temperature: z.number().min(0).max(2).optional(),
    mode: z
      .enum(['online', 'batch'])
      .default('online')
      .describe(
        'online: requests as fast as the limits allow, results in minutes. batch: the provider\'s batch API — uploaded files answered within the completion window (usually much sooner) at the batch price (half the online price at OpenAI).',
      ),
    batch: batchModeSchema.default(batchModeSchema.parse({})).describe('Batch mode (mode "batch") settings.'),
    provider: providerSchema.default(providerSchema.parse({})),
    batching: batchingSchema.default(batchingSchema.parse({})),
    limits: limitsSchema.default(limitsSchema.parse({})),
    retry: retrySchema.default(retrySchema.parse({})),
    cache: z.boolean().default(true).describe('Reuse answers for inputs already answered with the same prompt and model.'),
    prices: z.record(z.string(), priceSchema).default({}).describe('Per-model price overrides.'),
    sink: sinkSchema.optional(),
    ledger: ledgerSchema
      .optional()
      .describe('A shared Postgres ledger, so several workers can run one job; absent, the job has a SQLite ledger of its own.'),
  })
  .strict()
  .refine((spec) => spec.temperature === undefined || spec.temperature <= 1 || (spec.provider.api !== 'anthropic' && spec.provider.fallbacks.every((endpoint) => endpoint.api !== 'anthropic')), {
    message: 'the Anthropic API takes a temperature from 0 to 1',
    path: ['temperature'],
  })
  // Batch mode keeps its submissions in the job's own SQLite ledger; the shared ledger's
  // workers claim and send records online. Running one as the other would be a silent surprise.
  .refine((spec) => spec.mode !== 'batch' || spec.ledger === undefined, {
    message: 'batch mode runs on the job\'s own ledger: leave "ledger" out, or use "mode": "online" with a shared Postgres ledger',
    path: ['mode'],
  });

export type JobSpec = z.infer<typeof jobSpecSchema>;
export type JobSpecInput = z.input<typeof jobSpecSchema>;
export type SourceSpec = JobSpec['source'];
export type SqliteSourceSpec = z.infer<typeof sqliteSourceSchema>;
export type PostgresSourceSpec = z.infer<typeof postgresSourceSchema>;
export type FileSourceSpec = z.infer<typeof fileSourceSchema>;
export type SinkSpec = z.infer<typeof sinkSchema>;
export type ProviderSpec = JobSpec['provider'];
export type EndpointSpec = ProviderSpec['fallbacks'][number];
export type ProviderApiName = z.infer<typeof providerApiSchema>;
export type LimitsSpec = JobSpec['limits'];
export type BatchingSpec = JobSpec['batching'];
export type Price = z.infer<typeof priceSchema>;
export type BatchModeSpec = JobSpec['batch'];
export type LedgerSpec = z.infer<typeof ledgerSchema>;
