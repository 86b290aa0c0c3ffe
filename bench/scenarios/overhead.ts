// 1. Overhead: the mock at zero latency, so what is measured is each client's own cost.
import { checkSqliteAnswers, ensureSqliteFeedback, sqliteFeedbackPath } from '../datasets';
import { runDrover, runNaive } from '../engines';
import { withMock } from '../mockProcess';
import { percentOfCore, type ScenarioResult } from '../report';
import { freshResultsDb, model, percent, type Scenario, sqliteJob } from './scenario';

const concurrency = 32;
const cpuTargetMicros = 20;

export const overheadScenario: Scenario = {
  id: 'overhead',
  async run({ quick, log }): Promise<ScenarioResult> {
    const records = quick ? 5_000 : 200_000;
    ensureSqliteFeedback(records);

    log(`overhead: drover, ${records} records`);
    const droverDb = freshResultsDb('overhead-drover');
    const drover = await withMock([], (mock) =>
      runDrover(sqliteJob('bench-overhead', records, mock.url, droverDb, { limits: { concurrency } })),
    );
    const droverCheck = checkSqliteAnswers(droverDb, 'results', records);

    log(`overhead: naive baseline, ${records} records`);
    const naiveDb = freshResultsDb('overhead-naive');
    const naive = await withMock([], (mock) =>
      runNaive({ source: { type: 'sqlite', path: sqliteFeedbackPath, records }, baseUrl: mock.url, model, concurrency, resultsPath: naiveDb }),
    );
    const naiveCheck = checkSqliteAnswers(naiveDb, 'results', records);

    // The same job at the baseline's 100 records per request: per-request against per-record cost.
    log(`overhead: drover at 100 records/request, ${records} records`);
    const drover100 = await withMock([], (mock) =>
      runDrover(
        sqliteJob('bench-overhead-100', records, mock.url, freshResultsDb('overhead-drover-100'), {
          limits: { concurrency },
          batching: { recordsPerRequest: 100 },
        }),
      ),
    );

    // One request's worth of records: what starting the process and the job costs, which the
    // per-record figure otherwise spreads over the records.
    log('overhead: one-request jobs for the fixed cost');
    const droverFixed = await withMock([], (mock) =>
      runDrover(sqliteJob('bench-overhead-fixed', 20, mock.url, freshResultsDb('overhead-fixed-drover'), { limits: { concurrency } })),
    );
    const naiveFixed = await withMock([], (mock) =>
      runNaive({ source: { type: 'sqlite', path: sqliteFeedbackPath, records: 100 }, baseUrl: mock.url, model, concurrency, resultsPath: freshResultsDb('overhead-fixed-naive') }),
    );

    const d = drover.result.usage;
    const n = naive.result.usage;
    const droverRate = records / d.wallSec;
    const naiveRate = naiveCheck.answered / n.wallSec;
    const naiveMarginalMicros = ((n.cpuSec - naiveFixed.result.usage.cpuSec) / Math.max(naiveCheck.answered - 100, 1)) * 1e6;
    return {
      id: 'overhead',
      title: '1. Overhead',
      setup: `${records.toLocaleString('en-US')} records, SQLite → SQLite, mock at 0 ms, concurrency ${concurrency}; Drover 20 records/request, baseline 100`,
      metrics: [
        { name: 'records/s', unit: '', drover: droverRate, baseline: naiveRate, target: { kind: 'min', value: naiveRate, label: '≥ baseline' } },
        {
          name: 'client CPU per record',
          unit: 'µs',
          drover: (d.cpuSec / records) * 1e6,
          baseline: (n.cpuSec / Math.max(naiveCheck.answered, 1)) * 1e6,
          target: { kind: 'max', value: cpuTargetMicros },
        },
        {
          name: 'client CPU per record, fixed cost taken out',
          unit: 'µs',
          drover: ((d.cpuSec - droverFixed.result.usage.cpuSec) / (records - 20)) * 1e6,
          baseline: naiveMarginalMicros,
        },
        { name: 'fixed cost: CPU of a one-request job', unit: 's', drover: droverFixed.result.usage.cpuSec, baseline: naiveFixed.result.usage.cpuSec, digits: 2 },
        { name: 'at 100 records/request: records/s', unit: '', drover: records / drover100.result.usage.wallSec, baseline: naiveRate },
        {
          name: 'at 100 records/request: client CPU per record, fixed cost taken out',
          unit: 'µs',
          drover: ((drover100.result.usage.cpuSec - droverFixed.result.usage.cpuSec) / (records - 20)) * 1e6,
          baseline: naiveMarginalMicros,
        },
        { name: 'peak RSS', unit: 'MB', drover: d.peakRssMb, baseline: n.peakRssMb },
        { name: 'records finished correctly', unit: '%', drover: percent(droverCheck.correct, records), baseline: percent(naiveCheck.correct, records), digits: 1 },
      ],
      bottleneck:
        `Drover used ${percentOfCore(d)} of a core (its mock ${percentOfCore(drover.mockUsage)}); ` +
        `the baseline ${percentOfCore(n)} (its mock ${percentOfCore(naive.mockUsage)}), ${naive.result.summary.loadSec.toFixed(1)} s of it loading.`,
      raw: { records, drover100, droverFixed, naiveFixed, drover: { ...drover.result, mockUsage: drover.mockUsage, check: droverCheck }, naive: { ...naive.result, mockUsage: naive.mockUsage, check: naiveCheck } },
    };
  },
};
