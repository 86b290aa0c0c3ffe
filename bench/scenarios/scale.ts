// 5. Scale: a large Postgres table. Drover runs at two sizes to show its peak RSS does not
// grow with the table; the baseline loads the whole table into memory, which is the point.
import { ensurePgFeedback, pgFeedbackTable, pgQuery, pgSchema, pgUrl } from '../datasets';
import { runDrover, runNaive } from '../engines';
import { withMock } from '../mockProcess';
import { percentOfCore, type ScenarioResult } from '../report';
import { freshResultsDb, model, type Scenario } from './scenario';

const concurrency = 32;
const rssTargetMb = 300;

async function droverAt(records: number, log: (message: string) => void) {
  const resultsTable = `${pgSchema}.results_${records}`;
  await pgQuery(`DROP TABLE IF EXISTS ${resultsTable}`);
  log(`scale: drover, ${records} Postgres rows`);
  const { result, mockUsage } = await withMock([], (mock) =>
    runDrover({
      name: `bench-scale-${records}`,
      source: { type: 'postgres', url: pgUrl, query: `SELECT id, text FROM ${pgFeedbackTable} WHERE id <= ${records}`, key: 'id' },
      prompt: { template: '{{text}}' },
      model,
      provider: { baseUrl: mock.url },
      limits: { concurrency },
      sink: { type: 'postgres', table: resultsTable },
    }),
  );
  const { rows } = await pgQuery(`SELECT count(*) AS count FROM ${resultsTable} WHERE status = 'done'`);
  const written = Number((rows[0] as { count: string }).count);
  if (written !== records) throw new Error(`scale: the Postgres sink holds ${written} done rows, not ${records}`);
  await pgQuery(`DROP TABLE ${resultsTable}`);
  return { ...result, mockUsage, records };
}

export const scaleScenario: Scenario = {
  id: 'scale',
  async run({ quick, log }): Promise<ScenarioResult> {
    const [small, large] = quick ? [5_000, 15_000] : [500_000, 5_000_000];
    log(`scale: generating ${large} Postgres rows (kept if already there)`);
    await ensurePgFeedback(large);
    const droverSmall = await droverAt(small, log);
    const droverLarge = await droverAt(large, log);

    log(`scale: naive baseline, ${large} Postgres rows`);
    // Holding the whole table is the baseline's design; if that kills it, the table says so.
    const naive = await withMock([], (mock) =>
      runNaive({
        source: { type: 'postgres', url: pgUrl, table: pgFeedbackTable, records: large },
        baseUrl: mock.url,
        model,
        concurrency,
        resultsPath: freshResultsDb('scale-naive'),
      }).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
    );
    const naiveError = naive.result instanceof Error ? naive.result.message : null;
    const naiveRun = naive.result instanceof Error ? null : naive.result;
    const naiveNote =
      naiveRun === null
        ? `the baseline failed: ${naiveError?.split('\n').find((line) => /heap|memory|Error/i.test(line)) ?? 'see the JSON'}`
        : `the baseline ${percentOfCore(naiveRun.usage)} (its mock ${percentOfCore(naive.mockUsage)}), ${naiveRun.summary.loadSec.toFixed(1)} s loading the table`;
    const size = (records: number) => records.toLocaleString('en-US');
    return {
      id: 'scale',
      title: '5. Scale',
      setup: `${size(large)} Postgres rows → the mock at 0 ms → a Postgres results table (baseline: SQLite at the end), concurrency ${concurrency}`,
      metrics: [
        { name: `records/s at ${size(large)}`, unit: '', drover: large / droverLarge.usage.wallSec, baseline: naiveRun ? naiveRun.summary.answered / naiveRun.usage.wallSec : null },
        { name: `peak RSS at ${size(large)}`, unit: 'MB', drover: droverLarge.usage.peakRssMb, baseline: naiveRun?.usage.peakRssMb ?? null, target: { kind: 'max', value: rssTargetMb } },
        { name: `peak RSS at ${size(small)}`, unit: 'MB', drover: droverSmall.usage.peakRssMb, baseline: null, target: { kind: 'max', value: rssTargetMb } },
        {
          name: `peak RSS growth ${size(small)} → ${size(large)}`,
          unit: 'MB',
          drover: droverLarge.usage.peakRssMb - droverSmall.usage.peakRssMb,
          baseline: null,
          // "Not growing with the table": within 10 % of the smaller run, run-to-run noise.
          target: { kind: 'max', value: droverSmall.usage.peakRssMb * 0.1, label: '≤ 10 % of the smaller run' },
        },
        { name: `total time at ${size(large)}`, unit: 's', drover: droverLarge.usage.wallSec, baseline: naiveRun?.usage.wallSec ?? null, digits: 1 },
      ],
      bottleneck:
        `Drover ${percentOfCore(droverLarge.usage)} of a core (its mock ${percentOfCore(droverLarge.mockUsage)}); ${naiveNote}.`,
      raw: { small, large, droverSmall, droverLarge, naive: naiveRun ? { ...naiveRun, mockUsage: naive.mockUsage } : { error: naiveError } },
    };
  },
};
