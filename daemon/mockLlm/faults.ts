// Failure injection. Every admitted request draws exactly three numbers, in this order:
// which fault (if any), the latency jitter, and where the fault strikes. A rejected request
// (401, 400, 429…) draws nothing, so with --seed the same sequence of admitted requests
// meets the same faults, whatever was rejected in between.
import { type MockLlmOptions } from './options';

export type FaultKind = 'http500' | 'http503' | 'reset' | 'hang' | 'badJson' | 'drop' | 'truncate' | 'overloaded';

// Last, so that the draws of the kinds before it are what they were before it existed.
export const faultKinds: readonly FaultKind[] = ['http500', 'http503', 'reset', 'hang', 'badJson', 'drop', 'truncate', 'overloaded'];

/** mulberry32: a tiny seeded PRNG with a full 2^32 period, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface FaultDraw {
  fault: FaultKind | undefined;
  /** In [-1, 1): scales the latency by 1 + jitter × this. */
  jitter: number;
  /** In [0, 1): which record is dropped, where content is cut. */
  position: number;
}

export class FaultInjector {
  private readonly random: () => number;
  /** Cumulative probabilities, so one draw picks each fault at exactly its own rate. */
  private readonly thresholds: { kind: FaultKind; below: number }[] = [];

  constructor(options: MockLlmOptions) {
    this.random = mulberry32(options.seed ?? Math.floor(Math.random() * 4_294_967_296));
    const probabilities: Record<FaultKind, number> = {
      http500: options.fail500,
      http503: options.fail503,
      reset: options.failReset,
      hang: options.failHang,
      badJson: options.failBadJson,
      drop: options.failDrop,
      truncate: options.failTruncate,
      overloaded: options.failOverloaded,
    };
    let below = 0;
    for (const kind of faultKinds) {
      if (probabilities[kind] === 0) continue;
      below += probabilities[kind];
      this.thresholds.push({ kind, below });
    }
  }

  draw(): FaultDraw {
    const roll = this.random();
    const jitter = this.random() * 2 - 1;
    const position = this.random();
    const fault = this.thresholds.find((threshold) => roll < threshold.below)?.kind;
    return { fault, jitter, position };
  }
}
