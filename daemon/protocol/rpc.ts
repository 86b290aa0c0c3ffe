// The daemon's wire protocol: JSON-RPC 2.0 envelopes, every method's params and result,
// every notification, the error codes and the discovery file. The daemon, its client (the
// CLI and the extension) and their tests all derive from these schemas. A leaf module: zod,
// the other protocol modules and the (zod-only) job spec for the shape of a job name.
import { z } from 'zod';
import { jobSpecSchema } from '../spec/jobSpec';
import { jobEstimateSchema, previewRecordSchema } from './estimate';
import { jobErrorEventSchema, jobLogEventSchema, jobProgressSchema, jobStatusSchema } from './jobProgress';

/** Bumped on any change a peer built against the previous version could misread. */
export const protocolVersion = 1;

/** Frames larger than this close the socket with 1009; a job spec is a few KiB. */
export const maxFrameBytes = 4 * 1024 * 1024;

/** `$DROVER_HOME/daemon.json`, mode 0600: how clients find and authenticate to the daemon. */
export const daemonDiscoverySchema = z.object({
  pid: z.number().int().positive(),
  port: z.number().int().min(1).max(65_535),
  /** 32 random bytes, base64url: the Bearer token every connection must present. */
  token: z.string().min(43),
  protocolVersion: z.number().int(),
  daemonVersion: z.string(),
  startedAt: z.string(),
});
export type DaemonDiscovery = z.infer<typeof daemonDiscoverySchema>;

/** JSON-RPC's own codes, then Drover's; stable across releases so clients can branch on them. */
export const rpcErrorCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  jobNotFound: -32001,
  jobRunning: -32002,
  specInvalid: -32003,
  sourceError: -32004,
  jobNotRunning: -32005,
  /** The job cannot start as set up: most often an API key the daemon does not have. */
  jobSetup: -32006,
  shuttingDown: -32007,
} as const;
export type RpcErrorCode = (typeof rpcErrorCode)[keyof typeof rpcErrorCode];

// --- envelopes --------------------------------------------------------------------------

const rpcIdSchema = z.union([z.string(), z.number()]);
export type RpcId = z.infer<typeof rpcIdSchema>;

export const rpcRequestSchema = z.object({
  jsonrpc: z.literal('2.0'),
  /** Absent for a notification, which gets no answer. */
  id: rpcIdSchema.optional(),
  method: z.string(),
  params: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
});
export type RpcRequest = z.infer<typeof rpcRequestSchema>;

export const rpcErrorSchema = z.object({ code: z.number().int(), message: z.string(), data: z.unknown().optional() });
export type RpcErrorObject = z.infer<typeof rpcErrorSchema>;

export const rpcResponseSchema = z.union([
  z.object({ jsonrpc: z.literal('2.0'), id: rpcIdSchema, result: z.unknown() }),
  z.object({ jsonrpc: z.literal('2.0'), id: rpcIdSchema.nullable(), error: rpcErrorSchema }),
]);
export type RpcResponse = z.infer<typeof rpcResponseSchema>;

export const rpcNotificationSchema = z.object({ jsonrpc: z.literal('2.0'), method: z.string(), params: z.unknown() });

// --- shared shapes -----------------------------------------------------------------------

export const jobIdSchema = jobSpecSchema.shape.name;

/** A job spec as the user wrote it; the daemon validates it and answers specInvalid. */
const specInputSchema = z.record(z.string(), z.unknown());
/** The directory relative paths in the spec are resolved against (the spec file's). */
const baseDirSchema = z.string().min(1).optional();
/** API keys by provider base URL, from the editor's secret storage; held in memory only. */
const secretsSchema = z.record(z.string().min(1), z.string().min(1));

export const jobInfoSchema = z.object({
  jobId: jobIdSchema,
  status: jobStatusSchema,
  statusReason: z.string().nullable(),
  /** A runner in this daemon is working on the job right now. */
  active: z.boolean(),
  model: z.string().nullable(),
  records: z.object({ total: z.number().nullable(), totalExact: z.boolean(), done: z.number(), failed: z.number() }),
  tokens: z.object({ prompt: z.number(), completion: z.number() }),
  costUsd: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type JobInfo = z.infer<typeof jobInfoSchema>;

export const errorClassCountSchema = z.object({
  errorClass: z.string(),
  count: z.number(),
  sampleKey: z.string().nullable(),
  sampleMessage: z.string(),
  lastAt: z.string(),
});

export const resultRowSchema = z.object({
  key: z.string(),
  ordinal: z.number(),
  status: z.enum(['done', 'failed']),
  output: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
  errorClass: z.string().nullable(),
  attempts: z.number(),
  promptTokens: z.number(),
  completionTokens: z.number(),
  costUsd: z.number(),
  model: z.string().nullable(),
  updatedAt: z.string(),
});
export type ResultRowWire = z.infer<typeof resultRowSchema>;

// --- methods -----------------------------------------------------------------------------

const jobRef = z.object({ jobId: jobIdSchema });
const emptyParams = z.object({});
const jobInfoResult = z.object({ info: jobInfoSchema });

function method<P extends z.ZodType, R extends z.ZodType>(params: P, result: R) {
  return { params, result };
}

export const rpcMethods = {
  hello: method(
    z.object({ client: z.string().max(200).optional(), protocolVersion: z.number().int().optional() }),
    z.object({
      daemonVersion: z.string(),
      protocolVersion: z.number().int(),
      pid: z.number().int(),
      stateDir: z.string(),
      startedAt: z.string(),
    }),
  ),
  'job.validate': method(
    z.object({ spec: specInputSchema, baseDir: baseDirSchema }),
    z.object({ valid: z.boolean(), jobId: jobIdSchema.nullable(), problems: z.array(z.string()) }),
  ),
  'job.estimate': method(
    z.object({
      spec: specInputSchema,
      baseDir: baseDirSchema,
      sampleSize: z.number().int().min(1).max(1_000_000).optional(),
      fullScanLimit: z.number().int().min(1).optional(),
    }),
    jobEstimateSchema,
  ),
  'job.start': method(
    z.object({ spec: specInputSchema, baseDir: baseDirSchema, secrets: secretsSchema.default({}), retryFailed: z.boolean().default(false) }),
    jobInfoResult,
  ),
  'job.pause': method(jobRef, jobInfoResult),
  'job.resume': method(
    jobRef.extend({ secrets: secretsSchema.default({}), retryFailed: z.boolean().default(false) }),
    jobInfoResult,
  ),
  'job.cancel': method(jobRef, jobInfoResult),
  'job.delete': method(jobRef, z.object({ deleted: z.literal(true) })),
  'job.list': method(emptyParams, z.object({ jobs: z.array(jobInfoSchema) })),
  'job.get': method(
    jobRef,
    z.object({
      info: jobInfoSchema,
      /** The latest live numbers while the job runs in this daemon (or ran since it started). */
      progress: jobProgressSchema.nullable(),
      errors: z.array(errorClassCountSchema),
      /** The spec as the job runs it, paths resolved. */
      spec: z.record(z.string(), z.unknown()),
    }),
  ),
  'job.subscribe': method(jobRef, z.object({ info: jobInfoSchema, progress: jobProgressSchema.nullable() })),
  'job.unsubscribe': method(jobRef, z.object({ subscribed: z.literal(false) })),
  'results.page': method(
    jobRef.extend({
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(1000).default(100),
      status: z.enum(['done', 'failed']).optional(),
    }),
    z.object({ rows: z.array(resultRowSchema), total: z.number() }),
  ),
  'source.preview': method(
    z.object({ spec: specInputSchema, baseDir: baseDirSchema, limit: z.number().int().min(1).max(200).default(10) }),
    z.object({ jobId: jobIdSchema, records: z.array(previewRecordSchema) }),
  ),
} as const;

export type RpcMethodName = keyof typeof rpcMethods;
/** What a caller passes (defaults may be left out). */
export type RpcParams<M extends RpcMethodName> = z.input<(typeof rpcMethods)[M]['params']>;
/** What a handler receives, defaults applied. */
export type RpcParsedParams<M extends RpcMethodName> = z.output<(typeof rpcMethods)[M]['params']>;
export type RpcResult<M extends RpcMethodName> = z.output<(typeof rpcMethods)[M]['result']>;

export function isRpcMethodName(name: string): name is RpcMethodName {
  return Object.hasOwn(rpcMethods, name);
}

// --- notifications -----------------------------------------------------------------------

/** Errors of one class and outcome since the last notification, with one sample. */
export const jobErrorGroupSchema = jobErrorEventSchema.omit({ key: true, message: true }).extend({
  count: z.number().int().positive(),
  sampleKey: z.string().nullable(),
  sampleMessage: z.string(),
});
export type JobErrorGroup = z.infer<typeof jobErrorGroupSchema>;

/** Sent to every client on any status change, so lists see new and finished jobs. */
export const jobStateSchema = z.object({
  jobId: jobIdSchema,
  status: z.union([jobStatusSchema, z.literal('deleted')]),
  statusReason: z.string().nullable(),
  active: z.boolean(),
  /** Why the job paused: `user`, `budget`, or the fatal error class. */
  pauseClass: z.string().nullable(),
  /** The job's last numbers when it stops, so a client needs no second call. */
  progress: jobProgressSchema.nullable(),
});
export type JobState = z.infer<typeof jobStateSchema>;

export const rpcNotifications = {
  'job.progress': jobProgressSchema,
  'job.log': jobLogEventSchema,
  'job.error': jobErrorGroupSchema,
  'job.state': jobStateSchema,
} as const;

export type RpcNotificationName = keyof typeof rpcNotifications;
export type RpcNotificationParams<N extends RpcNotificationName> = z.output<(typeof rpcNotifications)[N]>;

export function isRpcNotificationName(name: string): name is RpcNotificationName {
  return Object.hasOwn(rpcNotifications, name);
}
