// What a scenario reports, the Markdown table (measured / target, the baseline, the ratio),
// bench/results/<date>.json, and the table section of BENCHMARKS.md.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Machine } from './machine';
import { paths } from './paths';
import type { ProcessUsage } from './processes';

export interface Target {
  /** `max`: the measured value must be at most `value`; `min`: at least. */
  kind: 'max' | 'min';
  value: number;
  /** How the target reads in the table when it is not a plain number (e.g. "≥ baseline"). */
  label?: string;
}

export interface Metric {
  name: string;
  unit: string;
  drover: number | null;
  baseline: number | null;
  target?: Target;
  /** Decimal places shown. */
  digits?: number;
  /** What the ratio column compares, when the second value is not the naive baseline. */
  ratioOf?: string;
}

export interface ScenarioResult {
  id: string;
  title: string;
  /** The setup in one line: records, latency, limits, faults. */
  setup: string;
  metrics: Metric[];
  /** What bound the run, from the CPU each process used. */
  bottleneck: string;
  /** Everything measured, for the JSON file. */
  raw: Record<string, unknown>;
}

export function cpuShare(usage: ProcessUsage): number {
  return usage.wallSec > 0 ? usage.cpuSec / usage.wallSec : 0;
}

export function percentOfCore(usage: ProcessUsage): string {
  return `${Math.round(cpuShare(usage) * 100)} %`;
}

function format(value: number | null, digits = 0): string {
  if (value === null || !Number.isFinite(value)) return '—';
  // + 0 turns a rounded -0 into 0.
  return (Number(value.toFixed(digits)) + 0).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function met(metric: Metric): boolean | undefined {
  const { target, drover } = metric;
  if (!target || drover === null || !Number.isFinite(drover)) return target ? false : undefined;
  return target.kind === 'max' ? drover <= target.value : drover >= target.value;
}

function measuredCell(metric: Metric): string {
  const measured = `${format(metric.drover, metric.digits)}${metric.unit ? ` ${metric.unit}` : ''}`;
  if (!metric.target) return measured;
  const bound = metric.target.label ?? `${metric.target.kind === 'max' ? '≤' : '≥'} ${format(metric.target.value, metric.digits)}`;
  return `${measured} / ${bound} ${met(metric) ? '✓' : '✗'}`;
}

function ratioCell(metric: Metric): string {
  const { drover, baseline } = metric;
  if (drover === null || baseline === null || baseline === 0 || !Number.isFinite(drover) || !Number.isFinite(baseline)) return '—';
  return `${(drover / baseline).toFixed(2)}×${metric.ratioOf ? ` ${metric.ratioOf}` : ''}`;
}

export function markdownTable(results: readonly ScenarioResult[]): string {
  const lines = ['| scenario | metric | Drover: measured / target | naive baseline | Drover ÷ baseline |', '|---|---|---|---|---|'];
  for (const result of results) {
    result.metrics.forEach((metric, index) => {
      const scenario = index === 0 ? `**${result.title}**<br>${result.setup}` : '';
      const baseline = metric.baseline === null ? '—' : `${format(metric.baseline, metric.digits)}${metric.unit ? ` ${metric.unit}` : ''}`;
      lines.push(`| ${scenario} | ${metric.name} | ${measuredCell(metric)} | ${baseline} | ${ratioCell(metric)} |`);
    });
  }
  return lines.join('\n');
}

export function bottlenecks(results: readonly ScenarioResult[]): string {
  return results.map((result) => `- **${result.title}**: ${result.bottleneck}`).join('\n');
}

export interface BenchReport {
  date: string;
  quick: boolean;
  /** The scenarios asked for with --only; none: all of them. */
  only: string[] | null;
  machine: Machine;
  commands: string[];
  scenarios: ScenarioResult[];
}

export function writeResultsJson(report: BenchReport): string {
  mkdirSync(paths.results, { recursive: true });
  // Only a full run of every scenario takes the plain <date>.json name.
  const suffix = [...(report.only ?? []), ...(report.quick ? ['quick'] : [])].map((part) => `-${part}`).join('');
  const file = join(paths.results, `${report.date}${suffix}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

const startMarker = '<!-- bench:table:start -->';
const endMarker = '<!-- bench:table:end -->';

/** Replaces what lies between the markers; the prose around them is written by hand. */
export function updateBenchmarksMd(report: BenchReport, file = paths.benchmarksMd): void {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(startMarker);
  const end = text.indexOf(endMarker);
  if (start === -1 || end < start) throw new Error(`${file} has no ${startMarker} … ${endMarker} section to replace`);
  const section = [
    startMarker,
    '',
    `Measured ${report.date} on ${report.machine.line}.`,
    '',
    'Commands: ' + report.commands.map((command) => `\`${command}\``).join(', ') + '.',
    '',
    markdownTable(report.scenarios),
    '',
    'What bound each run (CPU of each process as a share of one core, from GNU time):',
    '',
    bottlenecks(report.scenarios),
    '',
    endMarker,
  ].join('\n');
  writeFileSync(file, text.slice(0, start) + section + text.slice(end + endMarker.length));
}
