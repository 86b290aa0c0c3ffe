// 3. Rate-limited: the mock enforces RPM and TPM over a sliding 60 s window; each engine runs
// for a fixed time and is stopped. The share of the binding limit is read from the mock's
// cumulative admitted counters in every window that starts after the first one.
import { ensureSqliteFeedback, sqliteFeedbackPath } from '../datasets';
import { runDrover, runNaive, type EngineRun } from '../engines';
import { counters, sampleDuring, windowShares, type StatsSample, type WindowShares } from '../mockStats';
import { withMock } from '../mockProcess';
import type { ProcessUsage } from '../processes';
import { percentOfCore, type ScenarioResult } from '../report';
import { freshResultsDb, mockJitter, mockLatencyMs, model, percent, type Scenario, sqliteJob } from './scenario';

const rpm = 3000;
const tpm = 400_000;
const concurrency = 64;
const shareTarget = 97;
const rateLimitedTarget = 0.5;

interface LimitedRun {
  binding: 'requests' | 'tokens';
  shares: WindowShares;
  requests: number;
  rateLimited: number;
  records: number;
  /** Records given up on (Drover: failed; the baseline: its failed batches' records). */
  givenUp: number;
  usage: ProcessUsage;
  mockUsage: ProcessUsage;
  /** Per sample: [ms, requests, 429s, admitted requests, admitted tokens], for plotting. */
  series: number[][];
}

/** The limit the engine came closest to: the one that bound it. */
function bindingShares(samples: readonly StatsSample[], windowMs: number): { binding: 'requests' | 'tokens'; shares: WindowShares } {
  const scale = windowMs / 60_000;
  const requests = windowShares(samples, counters.admittedRequests, rpm * scale, windowMs, windowMs);
  const tokens = windowShares(samples, counters.admittedTokens, tpm * scale, windowMs, windowMs);
  return tokens.mean >= requests.mean ? { binding: 'tokens', shares: tokens } : { binding: 'requests', shares: requests };
}

async function measure<Summary>(
  engine: (baseUrl: string) => Promise<EngineRun<Summary>>,
  done: (summary: Summary) => { done: number; givenUp: number },
  windowMs: number,
): Promise<LimitedRun> {
  const flags = ['--rpm', String(rpm), '--tpm', String(tpm), '--latency-ms', String(mockLatencyMs), '--jitter', String(mockJitter), '--seed', '5'];
  const { result, mockUsage } = await withMock(flags, (mock) => sampleDuring(mock, 1000, () => engine(mock.url)));
  const last = result.samples[result.samples.length - 1].stats;
  return {
    ...bindingShares(result.samples, windowMs),
    requests: last.requests.total,
    rateLimited: last.rateLimited,
    records: done(result.result.summary).done,
    givenUp: done(result.result.summary).givenUp,
    usage: result.result.usage,
    mockUsage,
    series: result.samples.map(({ atMs, stats }) => [Math.round(atMs), stats.requests.total, stats.rateLimited, stats.admitted.requests, stats.admitted.tokens]),
  };
}

export const rateLimitedScenario: Scenario = {
  id: 'rate-limited',
  async run({ quick, log }): Promise<ScenarioResult> {
    // The mock's window is always 60 s; a quick run is too short for one whole window after
    // the first, so it reads 2 s windows against the limit scaled to 2 s: a harness check only.
    const durationMs = quick ? 5_000 : 180_000;
    const windowMs = quick ? 2_000 : 60_000;
    // More records than either engine can send in the time: every record costs > 20 tokens.
    const records = Math.ceil((tpm / 20) * (durationMs / 60_000)) + 10_000;
    ensureSqliteFeedback(records);

    log(`rate-limited: drover for ${durationMs / 1000} s`);
    const drover = await measure(
      (baseUrl) =>
        runDrover(sqliteJob('bench-rate-limited', records, baseUrl, freshResultsDb('rate-limited-drover'), { limits: { concurrency, rpm, tpm } }), {
          stopAfterMs: durationMs,
        }),
      (summary) => ({ done: summary.records.done, givenUp: summary.records.failed }),
      windowMs,
    );
    log(`rate-limited: naive baseline for ${durationMs / 1000} s`);
    const naive = await measure(
      (baseUrl) =>
        runNaive(
          { source: { type: 'sqlite', path: sqliteFeedbackPath, records }, baseUrl, model, concurrency, rpm, resultsPath: freshResultsDb('rate-limited-naive') },
          durationMs,
        ),
      (summary) => ({ done: summary.answered, givenUp: summary.failedBatches * 100 }),
      windowMs,
    );
    const windowLabel = `${windowMs / 1000} s`;
    return {
      id: 'rate-limited',
      title: '3. Rate-limited',
      setup: `mock enforcing ${rpm.toLocaleString('en-US')} RPM and ${tpm.toLocaleString('en-US')} TPM (sliding 60 s), ${mockLatencyMs} ms ± ${mockJitter * 100} %, ${durationMs / 1000} s per engine, concurrency ${concurrency}; Drover binds on ${drover.binding}, baseline on ${naive.binding}`,
      metrics: [
        {
          name: `binding limit used, worst ${windowLabel} window (${drover.shares.windows} windows)`,
          unit: '%',
          drover: drover.shares.min * 100,
          baseline: naive.shares.min * 100,
          target: { kind: 'min', value: shareTarget },
          digits: 1,
        },
        { name: `binding limit used, mean of ${windowLabel} windows`, unit: '%', drover: drover.shares.mean * 100, baseline: naive.shares.mean * 100, digits: 1 },
        { name: '429s', unit: '', drover: drover.rateLimited, baseline: naive.rateLimited },
        {
          name: 'requests answered 429',
          unit: '%',
          drover: percent(drover.rateLimited, drover.requests),
          baseline: percent(naive.rateLimited, naive.requests),
          target: { kind: 'max', value: rateLimitedTarget },
          digits: 2,
        },
        { name: 'records/s', unit: '', drover: drover.records / drover.usage.wallSec, baseline: naive.records / naive.usage.wallSec },
        { name: 'records given up (out of retries)', unit: '', drover: drover.givenUp, baseline: naive.givenUp },
      ],
      bottleneck:
        `the limit, by design (Drover ${percentOfCore(drover.usage)} of a core, the baseline ${percentOfCore(naive.usage)}); ` +
        `the baseline counts requests only, so a token limit answers it with 429s.`,
      raw: { rpm, tpm, durationMs, windowMs, records, drover, naive },
    };
  },
};
