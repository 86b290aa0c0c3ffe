// Picks the job's admission: its own token buckets, or — with `limits.shared` — buckets in
// Redis shared with every engine that sends to the same endpoint with the same key and model.
import { Admission } from '../limits/admission';
import type { AdmissionControl } from '../limits/admissionControl';
import type { Clock } from '../limits/clock';
import { SharedAdmission, SharedLimitUnavailableError } from '../limits/sharedAdmission';
import type { JobSpec } from '../spec/jobSpec';
import { JobSetupError, type ResolvedEndpoint } from './jobSetup';

export interface JobAdmissionOptions {
  /** The endpoint the limit belongs to: the primary one. */
  endpoint: ResolvedEndpoint;
  largestRequestTokens: number;
  windowMs: number;
  clock: Clock;
  /** How long before now this job last sent a request (see AdmissionOptions.quietMs). */
  quietMs: number | undefined;
  log: (level: 'info' | 'warn', message: string) => void;
  env: Readonly<Record<string, string | undefined>>;
}

/** The spec's URL with the password from the environment: the spec (and the ledger's copy) never holds it. */
function redisUrlOf(shared: NonNullable<JobSpec['limits']['shared']>, env: JobAdmissionOptions['env']): string {
  if (!shared.passwordEnv) return shared.redis;
  const password = env[shared.passwordEnv];
  if (!password) throw new JobSetupError(`limits.shared.passwordEnv: the environment variable ${shared.passwordEnv} is not set; it must hold the Redis password.`);
  const url = new URL(shared.redis);
  url.password = password;
  return url.toString();
}

export async function openJobAdmission(spec: JobSpec, options: JobAdmissionOptions): Promise<AdmissionControl> {
  const { rpm, tpm, shared } = spec.limits;
  const { largestRequestTokens, windowMs, clock } = options;
  if (!shared) {
    return new Admission({ rpm, tpm, largestRequestTokens, windowMs, clock, ...(options.quietMs !== undefined ? { quietMs: options.quietMs } : {}) });
  }
  try {
    return await SharedAdmission.open({
      redisUrl: redisUrlOf(shared, options.env),
      keyPrefix: shared.keyPrefix,
      identity: { baseUrl: options.endpoint.baseUrl, apiKey: options.endpoint.apiKey, model: options.endpoint.model },
      rpm, tpm, largestRequestTokens, windowMs, clock,
      log: options.log,
    });
  } catch (error) {
    if (error instanceof SharedLimitUnavailableError) throw new JobSetupError(error.message);
    throw error;
  }
}
