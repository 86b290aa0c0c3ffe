// `npm run bench [-- --quick] [--only a,b] [--no-write]`: every scenario runs Drover and the
// naive baseline in fresh processes against a fresh mock LLM on loopback, prints the table,
// writes bench/results/<date>.json and, on a full run of every scenario, the table in
// BENCHMARKS.md.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bundleNaive } from './engines';
import { describeMachine } from './machine';
import { paths } from './paths';
import { assertGnuTime } from './processes';
import { bottlenecks, markdownTable, type ScenarioResult, updateBenchmarksMd, writeResultsJson } from './report';
import { daemonScenario } from './scenarios/daemonPath';
import { faultsScenario } from './scenarios/faults';
import { latencyScenario } from './scenarios/latency';
import { overheadScenario } from './scenarios/overhead';
import { rateLimitedScenario } from './scenarios/rateLimited';
import { scaleScenario } from './scenarios/scale';
import type { Scenario } from './scenarios/scenario';

const scenarios: readonly Scenario[] = [overheadScenario, latencyScenario, rateLimitedScenario, faultsScenario, scaleScenario, daemonScenario];

function selected(only: string | undefined): readonly Scenario[] {
  if (only === undefined) return scenarios;
  const ids = only.split(',').map((id) => id.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !scenarios.some((scenario) => scenario.id === id));
  if (unknown.length > 0) {
    throw new Error(`--only: unknown scenario ${unknown.join(', ')}; the scenarios are ${scenarios.map((scenario) => scenario.id).join(', ')}`);
  }
  return scenarios.filter((scenario) => ids.includes(scenario.id));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, 'no-write': { type: 'boolean', default: false } },
  });
  const toRun = selected(values.only);
  assertGnuTime();
  if (!existsSync(paths.cli) || !existsSync(paths.daemon)) throw new Error(`${paths.cli} is missing: run "npm run build" (npm run bench builds first)`);
  await bundleNaive();
  const machine = describeMachine();
  const started = Date.now();
  const log = (message: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
  log(`${machine.line}${values.quick ? ' (quick)' : ''}`);

  const results: ScenarioResult[] = [];
  for (const scenario of toRun) results.push(await scenario.run({ quick: values.quick, log }));

  const command = ['npm run bench', ...(values.quick ? ['--quick'] : []), ...(values.only ? ['--only', values.only] : [])];
  const report = {
    date: new Date().toISOString().slice(0, 10),
    quick: values.quick,
    only: values.only === undefined ? null : toRun.map((scenario) => scenario.id),
    machine,
    commands: [command.length > 1 ? `${command[0]} -- ${command.slice(1).join(' ')}` : command[0]],
    scenarios: results,
  };
  process.stdout.write(`\n${markdownTable(results)}\n\n${bottlenecks(results)}\n\n`);
  log(`results: ${writeResultsJson(report)}`);
  // Only a complete measurement replaces the published table.
  if (!values['no-write'] && !values.quick && values.only === undefined) {
    updateBenchmarksMd(report);
    log('BENCHMARKS.md updated');
  }
  // Ledgers and results tables of a large run take gigabytes; the source tables are kept for
  // the next run. After a failure they stay, to be looked at.
  for (const dir of ['state', 'results']) rmSync(join(paths.work, dir), { recursive: true, force: true });
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
