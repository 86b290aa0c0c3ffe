// What the mock saw, for `/stats`, `/stats/records` and the tests: counters only, updated
// in O(1) per request.
import { performance } from 'node:perf_hooks';
import { type FaultKind, faultKinds } from './faults';

export interface BatchCounts {
  filesUploaded: number;
  created: number;
  /** Batches retrieved, cancelled, expired and lines answered or failed in them. */
  retrieved: number;
  cancelled: number;
  expired: number;
  linesAnswered: number;
  linesFailed: number;
}

const noBatches = (): BatchCounts => ({ filesUploaded: 0, created: 0, retrieved: 0, cancelled: 0, expired: 0, linesAnswered: 0, linesFailed: 0 });

/** One chat request as the rate limiter saw it: when, its tokens (prompt + max_tokens), and whether it got in. */
export interface Arrival {
  /** Milliseconds on the mock's clock (monotonic). */
  atMs: number;
  tokens: number;
  admitted: boolean;
}

export interface MockLlmStats {
  requests: { total: number; byStatus: Record<string, number> };
  /** 429s for rate limits (insufficient_quota is counted in byStatus only). */
  rateLimited: number;
  inFlight: number;
  peakInFlight: number;
  tokens: { prompt: number; completion: number };
  /** Record results delivered in complete answers (not cut, not invalid JSON). */
  recordsAnswered: number;
  faults: Record<FaultKind, number>;
  /** Requests and tokens (prompt + max_tokens) the limiter let through since the start or the last reset: benchmarks sample these to see the share of a limit used. */
  admitted: { requests: number; tokens: number };
  /** The most requests admitted within any window of `windowMs`. */
  maxRequestsInWindow: number;
  /** The most tokens (prompt + max_tokens, as the limiter counts them) admitted within any window. */
  maxTokensInWindow: number;
  windowMs: number;
  uptimeMs: number;
  batches: BatchCounts;
}

function noFaults(): Record<FaultKind, number> {
  return Object.fromEntries(faultKinds.map((kind) => [kind, 0])) as Record<FaultKind, number>;
}

export class StatsCollector {
  private startedAt: number;
  private total = 0;
  private byStatus: Record<string, number> = {};
  private rateLimited = 0;
  private inFlight = 0;
  private peakInFlight = 0;
  private promptTokens = 0;
  private completionTokens = 0;
  private recordsAnswered = 0;
  private faults = noFaults();
  private admittedRequests = 0;
  private admittedTokens = 0;
  private maxRequestsInWindow = 0;
  private maxTokensInWindow = 0;
  private answersPerRecord = new Map<string, number>();
  /** Counted by the batch routes and the batch runner directly. */
  batches = noBatches();
  private arrivalLog: Arrival[] = [];

  constructor(
    private readonly windowMs: number,
    private readonly trackRecords: boolean,
    private readonly trackArrivals = false,
  ) {
    this.startedAt = performance.now();
  }

  requestStarted(): void {
    this.total++;
    this.inFlight++;
    if (this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
  }

  /** `status` is undefined when the request ended without an answer (reset, hang, client gone). */
  requestEnded(status: number | undefined): void {
    this.inFlight--;
    if (status !== undefined) this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
  }

  rateLimitedRequest(): void {
    this.rateLimited++;
  }

  /** `tokens` is this request's prompt + max_tokens; the window counts include it. */
  admitted(tokens: number, requestsInWindow: number, tokensInWindow: number): void {
    this.admittedRequests++;
    this.admittedTokens += tokens;
    if (requestsInWindow > this.maxRequestsInWindow) this.maxRequestsInWindow = requestsInWindow;
    if (tokensInWindow > this.maxTokensInWindow) this.maxTokensInWindow = tokensInWindow;
  }

  arrived(atMs: number, tokens: number, admitted: boolean): void {
    if (this.trackArrivals) this.arrivalLog.push({ atMs, tokens, admitted });
  }

  faultInjected(kind: FaultKind): void {
    this.faults[kind]++;
  }

  answered(promptTokens: number, completionTokens: number, recordIds: readonly string[]): void {
    this.promptTokens += promptTokens;
    this.completionTokens += completionTokens;
    this.recordsAnswered += recordIds.length;
    if (!this.trackRecords) return;
    for (const id of recordIds) this.answersPerRecord.set(id, (this.answersPerRecord.get(id) ?? 0) + 1);
  }

  /** Zeroes every counter; requests still in flight stay counted as in flight. */
  reset(): void {
    this.startedAt = performance.now();
    this.total = 0;
    this.byStatus = {};
    this.rateLimited = 0;
    this.peakInFlight = this.inFlight;
    this.promptTokens = 0;
    this.completionTokens = 0;
    this.recordsAnswered = 0;
    this.faults = noFaults();
    this.admittedRequests = 0;
    this.admittedTokens = 0;
    this.maxRequestsInWindow = 0;
    this.maxTokensInWindow = 0;
    this.answersPerRecord = new Map();
    this.batches = noBatches();
    this.arrivalLog = [];
  }

  snapshot(): MockLlmStats {
    return {
      requests: { total: this.total, byStatus: { ...this.byStatus } },
      rateLimited: this.rateLimited,
      inFlight: this.inFlight,
      peakInFlight: this.peakInFlight,
      tokens: { prompt: this.promptTokens, completion: this.completionTokens },
      recordsAnswered: this.recordsAnswered,
      faults: { ...this.faults },
      admitted: { requests: this.admittedRequests, tokens: this.admittedTokens },
      maxRequestsInWindow: this.maxRequestsInWindow,
      maxTokensInWindow: this.maxTokensInWindow,
      windowMs: this.windowMs,
      uptimeMs: Math.round(performance.now() - this.startedAt),
      batches: { ...this.batches },
    };
  }

  arrivals(): Arrival[] {
    return [...this.arrivalLog];
  }

  recordCounts(): Record<string, number> {
    return Object.fromEntries(this.answersPerRecord);
  }
}
