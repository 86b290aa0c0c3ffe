// Retrying work whose connection was lost: a restarted server or a terminated backend is a
// pause, not the end of a multi-hour job. Waits grow exponentially with jitter (so several
// daemons do not reconnect in lockstep) and the total wait is bounded, so a server that is
// gone for good becomes a clear error instead of a hang.
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage, isTransient } from './errors';

export interface ReconnectPolicy {
  /** Give up once this much time has passed since the first failure. */
  maxWaitMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultReconnectPolicy: ReconnectPolicy = { maxWaitMs: 120_000, baseDelayMs: 250, maxDelayMs: 10_000 };

export interface ReconnectOptions {
  policy?: ReconnectPolicy;
  signal?: AbortSignal | undefined;
  /** Builds the error thrown after the last attempt (a SourceError, a SinkError, …). */
  giveUp: (message: string, lastError: unknown) => Error;
}

/** Delay before retry number `retry` (0-based): "equal jitter", half fixed and half random. */
export function reconnectDelay(policy: ReconnectPolicy, retry: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Runs `attempt` again after each connection loss; other errors pass straight through. */
export async function withReconnect<T>(attempt: () => Promise<T>, options: ReconnectOptions): Promise<T> {
  const policy = options.policy ?? defaultReconnectPolicy;
  let firstFailureAt: number | undefined;
  for (let retry = 0; ; retry += 1) {
    options.signal?.throwIfAborted();
    try {
      return await attempt();
    } catch (error) {
      if (!isTransient(error)) throw error;
      firstFailureAt ??= Date.now();
      const delay = reconnectDelay(policy, retry);
      const waited = Date.now() - firstFailureAt;
      if (waited + delay > policy.maxWaitMs) {
        const seconds = Math.round(policy.maxWaitMs / 1000);
        throw options.giveUp(
          `lost the connection to Postgres and could not get it back within ${seconds} s (${retry + 1} attempts): ${errorMessage(error)}`,
          error,
        );
      }
      await sleep(delay, undefined, { signal: options.signal });
    }
  }
}
