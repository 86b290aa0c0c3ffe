// The two engines under measurement, each in its own fresh process under GNU time:
// `drover run <spec> --json` and the bundled naive baseline.
import * as esbuild from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jobSummarySchema, type JobSummary } from '../daemon/protocol/jobProgress';
import type { JobSpecInput } from '../daemon/spec/jobSpec';
import { naiveSummarySchema, type NaiveConfig, type NaiveSummary } from './naive/naiveProtocol';
import { paths } from './paths';
import { startTimed, type ProcessUsage, type TimedOutcome, type TimedProcess } from './processes';

export interface EngineRun<Summary> {
  summary: Summary;
  usage: ProcessUsage;
}

/** Bundled once, so that neither tsx's compile time nor its loader is measured. */
export async function bundleNaive(): Promise<void> {
  await esbuild.build({
    entryPoints: [join(paths.root, 'bench', 'naive', 'naivePipeline.ts')],
    outfile: paths.naiveBundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['better-sqlite3', 'pg-native'],
    mainFields: ['module', 'main'],
    logLevel: 'warning',
  });
}

/** Sends SIGTERM after `stopAfterMs` (a graceful stop for both engines); waits for the end. */
async function finished(timed: TimedProcess, stopAfterMs: number | undefined): Promise<TimedOutcome> {
  const stop = () => {
    // The process may have ended on its own meanwhile: nothing to stop then.
    timed.signal('SIGTERM').catch(() => undefined);
  };
  const timer = stopAfterMs === undefined ? undefined : setTimeout(stop, stopAfterMs);
  try {
    return await timed.done;
  } finally {
    clearTimeout(timer);
  }
}

function lastLine(stdout: string): string {
  return stdout.trim().split('\n').at(-1) ?? '';
}

export function droverSpecPath(name: string): string {
  return join(paths.work, 'specs', `${name}.drover.json`);
}

export function writeDroverSpec(spec: JobSpecInput): string {
  const specPath = droverSpecPath(spec.name);
  mkdirSync(join(paths.work, 'specs'), { recursive: true });
  writeFileSync(specPath, `${JSON.stringify(spec, null, 2)}\n`);
  return specPath;
}

export function freshStateDir(name: string): string {
  const dir = join(paths.work, 'state', name);
  rmSync(dir, { recursive: true, force: true });
  return dir;
}

export interface DroverRunOptions {
  stopAfterMs?: number;
}

/** `drover run` to the end (every record must be done) or until stopped. */
export async function runDrover(spec: JobSpecInput, options: DroverRunOptions = {}): Promise<EngineRun<JobSummary>> {
  const specPath = writeDroverSpec(spec);
  const stateDir = freshStateDir(spec.name);
  const timed = startTimed([process.execPath, paths.cli, 'run', specPath, '--json', '--state-dir', stateDir]);
  const outcome = await finished(timed, options.stopAfterMs);
  if (outcome.code !== 0) throw new Error(`drover run ${spec.name} exited ${outcome.code}: ${outcome.stderr.slice(-2000)}`);
  const summary = jobSummarySchema.parse(JSON.parse(lastLine(outcome.stdout)));
  const { done, total } = summary.records;
  if (options.stopAfterMs === undefined && (summary.status !== 'done' || done !== total)) {
    throw new Error(`drover run ${spec.name} ended ${summary.status} with ${done} of ${total} records done`);
  }
  return { summary, usage: outcome.usage };
}

export async function runNaive(config: NaiveConfig, stopAfterMs?: number): Promise<EngineRun<NaiveSummary>> {
  const timed = startTimed([process.execPath, paths.naiveBundle, JSON.stringify(config)]);
  const outcome = await finished(timed, stopAfterMs);
  if (outcome.code !== 0) throw new Error(`the naive baseline exited ${outcome.code}: ${outcome.stderr.slice(-2000)}`);
  return { summary: naiveSummarySchema.parse(JSON.parse(lastLine(outcome.stdout))), usage: outcome.usage };
}
