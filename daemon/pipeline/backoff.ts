// Exponential backoff with full jitter (a uniformly random wait up to the exponential
// bound), so many failed requests do not come back at the same moment.
export interface BackoffPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
}

export function backoffMs(policy: BackoffPolicy, attempt: number, hintMs = 0, random: () => number = Math.random): number {
  const bound = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(hintMs, Math.floor(random() * bound));
}
