// 2. Latency-bound: at 300 ms ± 20 % per request, c requests in flight can at best make
// c ÷ 0.3 s requests per second. Each engine runs long enough for a steady state; the rate
// is the slope of the mock's request counter between 20 % and 80 % of the active span.
// Drover runs twice per level: at its default 20 records per request, where its CPU per
// record (scenario 1) can bound it, and at 1 record per request, which asks only whether it
// keeps `concurrency` requests in flight.
import { ensureSqliteFeedback, sqliteFeedbackPath } from '../datasets';
import { runDrover, runNaive, type EngineRun } from '../engines';
import { counters, sampleDuring, steadyRate } from '../mockStats';
import { withMock } from '../mockProcess';
import type { ProcessUsage } from '../processes';
import { percentOfCore, type Metric, type ScenarioResult } from '../report';
import { freshResultsDb, mockJitter, mockLatencyMs, model, percent, type Scenario, sqliteJob } from './scenario';

const levels = [64, 256, 1024];
/** A quick run checks the harness at the two ends only. */
const quickLevels = [64, 1024];
const shareTarget = 97;
const droverPerRequest = 20;
const naivePerRequest = 100;

interface LevelRun {
  requestsPerSec: number;
  peakInFlight: number;
  records: number;
  usage: ProcessUsage;
  mockUsage: ProcessUsage;
}

async function measure<Summary>(engine: (baseUrl: string) => Promise<EngineRun<Summary>>, done: (summary: Summary) => number): Promise<LevelRun> {
  const flags = ['--latency-ms', String(mockLatencyMs), '--jitter', String(mockJitter), '--seed', '3'];
  const { result, mockUsage } = await withMock(flags, (mock) => sampleDuring(mock, 250, () => engine(mock.url)));
  const last = result.samples[result.samples.length - 1].stats;
  return {
    requestsPerSec: steadyRate(result.samples, counters.requests),
    peakInFlight: last.peakInFlight,
    records: done(result.result.summary),
    usage: result.result.usage,
    mockUsage,
  };
}

export const latencyScenario: Scenario = {
  id: 'latency',
  async run({ quick, log }): Promise<ScenarioResult> {
    const seconds = quick ? 1.5 : 20;
    const runLevels = quick ? quickLevels : levels;
    // The baseline holds everything in memory and 100 records per request: its table for
    // `seconds` at the ideal rate is capped, which shortens its run but not its steady state.
    const naiveCap = quick ? 100_000 : 2_000_000;
    const droverRecords = (level: number, perRequest = droverPerRequest) => Math.ceil((level / (mockLatencyMs / 1000)) * seconds * perRequest);
    const naiveRecords = (level: number) => Math.min(naiveCap, Math.ceil((level / (mockLatencyMs / 1000)) * seconds * naivePerRequest));
    ensureSqliteFeedback(Math.max(...runLevels.map((level) => Math.max(droverRecords(level), naiveRecords(level)))));

    const metrics: Metric[] = [];
    const raw: Record<string, unknown> = {};
    const bound: string[] = [];
    for (const level of runLevels) {
      const ideal = level / (mockLatencyMs / 1000);
      // A CPU-bound run is stopped after twice its planned time: the steady state is what counts.
      const stopAfterMs = seconds * 2000 + 3000;
      log(`latency: drover at concurrency ${level}, ${droverRecords(level)} records`);
      const drover = await measure(
        (baseUrl) =>
          runDrover(
            sqliteJob(`bench-latency-${level}`, droverRecords(level), baseUrl, freshResultsDb(`latency-${level}-drover`), { limits: { concurrency: level } }),
            { stopAfterMs },
          ),
        (summary) => summary.records.done,
      );
      log(`latency: drover at concurrency ${level}, 1 record per request, ${droverRecords(level, 1)} records`);
      const droverSingle = await measure(
        (baseUrl) =>
          runDrover(
            sqliteJob(`bench-latency-${level}-single`, droverRecords(level, 1), baseUrl, freshResultsDb(`latency-${level}-drover-single`), {
              limits: { concurrency: level },
              batching: { recordsPerRequest: 1 },
            }),
            { stopAfterMs },
          ),
        (summary) => summary.records.done,
      );
      log(`latency: naive baseline at concurrency ${level}, ${naiveRecords(level)} records`);
      const naive = await measure(
        (baseUrl) =>
          runNaive(
            {
              source: { type: 'sqlite', path: sqliteFeedbackPath, records: naiveRecords(level) },
              baseUrl,
              model,
              concurrency: level,
              resultsPath: freshResultsDb(`latency-${level}-naive`),
            },
            stopAfterMs,
          ),
        (summary) => summary.answered,
      );
      metrics.push(
        {
          name: `c = ${level}: requests/s, % of ideal ${Math.round(ideal)}/s`,
          unit: '%',
          drover: percent(drover.requestsPerSec, ideal),
          baseline: percent(naive.requestsPerSec, ideal),
          target: { kind: 'min', value: shareTarget },
          digits: 1,
        },
        {
          name: `c = ${level}: requests/s at 1 record/request, % of ideal`,
          unit: '%',
          drover: percent(droverSingle.requestsPerSec, ideal),
          baseline: percent(naive.requestsPerSec, ideal),
          target: { kind: 'min', value: shareTarget },
          digits: 1,
        },
        { name: `c = ${level}: peak in flight at the mock`, unit: '', drover: drover.peakInFlight, baseline: naive.peakInFlight },
        { name: `c = ${level}: records/s`, unit: '', drover: drover.records / drover.usage.wallSec, baseline: naive.records / naive.usage.wallSec },
      );
      bound.push(
        `c = ${level}: Drover ${percentOfCore(drover.usage)} of a core, its mock ${percentOfCore(drover.mockUsage)} ` +
          `(at 1 record/request ${percentOfCore(droverSingle.usage)}, its mock ${percentOfCore(droverSingle.mockUsage)}); ` +
          `baseline ${percentOfCore(naive.usage)}, its mock ${percentOfCore(naive.mockUsage)}`,
      );
      raw[`c${level}`] = { ideal, drover, droverSingle, naive };
    }
    return {
      id: 'latency',
      title: '2. Latency-bound',
      setup: `mock at ${mockLatencyMs} ms ± ${mockJitter * 100} %, ~${seconds} s of requests at the ideal rate per run; Drover 20 records/request (and 1), baseline 100`,
      metrics,
      bottleneck: `${bound.join('; ')}.`,
      raw,
    };
  },
};
