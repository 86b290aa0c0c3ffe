// The mock's /stats sampled into a time series while an engine runs, and what the bench
// reads from it: steady-state rates and the share of a limit used per window.
import { performance } from 'node:perf_hooks';
import type { MockLlmStats } from '../daemon/mockLlm/stats';
import type { MockProcess } from './mockProcess';

export interface StatsSample {
  /** Milliseconds since sampling started. */
  atMs: number;
  stats: MockLlmStats;
}

export type Counter = (stats: MockLlmStats) => number;

export const counters = {
  requests: (stats) => stats.requests.total,
  admittedRequests: (stats) => stats.admitted.requests,
  admittedTokens: (stats) => stats.admitted.tokens,
} satisfies Record<string, Counter>;

export class StatsSampler {
  private readonly samples: StatsSample[] = [];
  private readonly startedAt = performance.now();
  private running = true;
  private readonly loop: Promise<void>;

  constructor(
    private readonly mock: MockProcess,
    private readonly intervalMs: number,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const next = performance.now() + this.intervalMs;
      const stats = await this.mock.stats();
      this.samples.push({ atMs: performance.now() - this.startedAt, stats });
      const wait = next - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** Stops sampling after one last sample; the series. */
  async stop(): Promise<StatsSample[]> {
    this.running = false;
    await this.loop;
    this.samples.push({ atMs: performance.now() - this.startedAt, stats: await this.mock.stats() });
    return this.samples;
  }
}

/** Samples the mock while `body` runs; sampling stops whatever happens to it. */
export async function sampleDuring<T>(mock: MockProcess, intervalMs: number, body: () => Promise<T>): Promise<{ result: T; samples: StatsSample[] }> {
  const sampler = new StatsSampler(mock, intervalMs);
  let result: T;
  try {
    result = await body();
  } catch (error) {
    await sampler.stop().catch(() => undefined);
    throw error;
  }
  return { result, samples: await sampler.stop() };
}

/** The counter at a moment, interpolated between the samples around it. */
function valueAt(samples: readonly StatsSample[], atMs: number, counter: Counter): number {
  const after = samples.findIndex((sample) => sample.atMs >= atMs);
  if (after <= 0) return counter(samples[Math.max(after, 0)].stats);
  const [a, b] = [samples[after - 1], samples[after]];
  const fraction = (atMs - a.atMs) / (b.atMs - a.atMs);
  return counter(a.stats) + fraction * (counter(b.stats) - counter(a.stats));
}

/** From the first sample that saw a request to the last one where the count still rose. */
export function activeSpan(samples: readonly StatsSample[]): { fromMs: number; toMs: number } {
  const first = samples.findIndex((sample) => sample.stats.requests.total > 0);
  if (first === -1) throw new Error('the mock saw no request');
  const finalCount = samples[samples.length - 1].stats.requests.total;
  const last = samples.findIndex((sample) => sample.stats.requests.total === finalCount);
  return { fromMs: samples[Math.max(first - 1, 0)].atMs, toMs: samples[last].atMs };
}

/** Per second, between 20 % and 80 % of the active span: ramp-up and tail left out. */
export function steadyRate(samples: readonly StatsSample[], counter: Counter): number {
  const { fromMs, toMs } = activeSpan(samples);
  const from = fromMs + 0.2 * (toMs - fromMs);
  const to = fromMs + 0.8 * (toMs - fromMs);
  return ((valueAt(samples, to, counter) - valueAt(samples, from, counter)) / (to - from)) * 1000;
}

export interface WindowShares {
  windows: number;
  min: number;
  mean: number;
}

/**
 * The share of `limitPerWindow` used in every window of `windowMs` that starts at least
 * `skipMs` after the first request and ends by the last request (one per sample).
 */
export function windowShares(
  samples: readonly StatsSample[],
  counter: Counter,
  limitPerWindow: number,
  windowMs: number,
  skipMs: number,
): WindowShares {
  const { fromMs, toMs: endMs } = activeSpan(samples);
  const shares: number[] = [];
  for (const sample of samples) {
    if (sample.atMs < fromMs + skipMs || sample.atMs + windowMs > endMs) continue;
    const used = valueAt(samples, sample.atMs + windowMs, counter) - counter(sample.stats);
    shares.push(used / limitPerWindow);
  }
  if (shares.length === 0) return { windows: 0, min: Number.NaN, mean: Number.NaN };
  return {
    windows: shares.length,
    min: Math.min(...shares),
    mean: shares.reduce((sum, share) => sum + share, 0) / shares.length,
  };
}
