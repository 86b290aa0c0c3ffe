// 4. Faults: 5 % HTTP 500, 2 % of answers missing one record, 1 % connection resets (seeded).
// Correct means an answer is present and equal to the analyst rule for that record's text.
import { checkSqliteAnswers, ensureSqliteFeedback, sqliteFeedbackPath } from '../datasets';
import { runDrover, runNaive } from '../engines';
import { withMock } from '../mockProcess';
import { percentOfCore, type ScenarioResult } from '../report';
import { freshResultsDb, model, percent, type Scenario, sqliteJob } from './scenario';

const faultFlags = ['--fail-500', '0.05', '--fail-drop', '0.02', '--fail-reset', '0.01', '--seed', '7'];
const concurrency = 32;
const retry = { maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 2000 };

export const faultsScenario: Scenario = {
  id: 'faults',
  async run({ quick, log }): Promise<ScenarioResult> {
    const records = quick ? 3_000 : 100_000;
    ensureSqliteFeedback(records);

    log(`faults: drover, ${records} records`);
    const droverDb = freshResultsDb('faults-drover');
    const drover = await withMock(faultFlags, async (mock) => {
      const run = await runDrover(sqliteJob('bench-faults', records, mock.url, droverDb, { limits: { concurrency }, retry }));
      return { run, stats: await mock.stats() };
    });
    const droverCheck = checkSqliteAnswers(droverDb, 'results', records);

    log(`faults: naive baseline, ${records} records`);
    const naiveDb = freshResultsDb('faults-naive');
    const naive = await withMock(faultFlags, async (mock) => {
      const run = await runNaive({
        source: { type: 'sqlite', path: sqliteFeedbackPath, records },
        baseUrl: mock.url,
        model,
        concurrency,
        maxAttempts: retry.maxAttempts,
        baseDelayMs: retry.baseDelayMs,
        resultsPath: naiveDb,
      });
      return { run, stats: await mock.stats() };
    });
    const naiveCheck = checkSqliteAnswers(naiveDb, 'results', records);

    // The fewest requests that could have done the job, at each engine's records per request.
    const droverWasted = drover.result.stats.requests.total - Math.ceil(records / 20);
    const naiveWasted = naive.result.stats.requests.total - Math.ceil(records / 100);
    const droverUsage = drover.result.run.usage;
    const naiveUsage = naive.result.run.usage;
    return {
      id: 'faults',
      title: '4. Faults',
      setup: `${records.toLocaleString('en-US')} records, mock at 0 ms with 5 % 500s, 2 % dropped items, 1 % resets (seed 7); both retry up to ${retry.maxAttempts} times from ${retry.baseDelayMs} ms`,
      metrics: [
        {
          name: 'records finished correctly',
          unit: '%',
          drover: percent(droverCheck.correct, records),
          baseline: percent(naiveCheck.correct, records),
          target: { kind: 'min', value: 100 },
          digits: 2,
        },
        { name: 'records answered wrongly', unit: '', drover: droverCheck.answered - droverCheck.correct, baseline: naiveCheck.answered - naiveCheck.correct },
        { name: 'records with no answer', unit: '', drover: records - droverCheck.answered, baseline: records - naiveCheck.answered },
        { name: 'wasted requests (beyond the minimum)', unit: '', drover: droverWasted, baseline: naiveWasted },
        {
          name: 'wasted requests, % of the minimum',
          unit: '%',
          drover: percent(droverWasted, Math.ceil(records / 20)),
          baseline: percent(naiveWasted, Math.ceil(records / 100)),
          digits: 1,
        },
        { name: 'records/s', unit: '', drover: records / droverUsage.wallSec, baseline: naiveCheck.answered / naiveUsage.wallSec },
      ],
      bottleneck:
        `Drover ${percentOfCore(droverUsage)} of a core (its mock ${percentOfCore(drover.mockUsage)}); ` +
        `the baseline ${percentOfCore(naiveUsage)} (its mock ${percentOfCore(naive.mockUsage)}); retry backoff sets the tail.`,
      raw: {
        records,
        drover: { ...drover.result, mockUsage: drover.mockUsage, check: droverCheck },
        naive: { ...naive.result, mockUsage: naive.mockUsage, check: naiveCheck },
      },
    };
  },
};
