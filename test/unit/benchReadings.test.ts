import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { counters, steadyRate, windowShares, type StatsSample } from '../../bench/mockStats';
import { markdownTable, type ScenarioResult, updateBenchmarksMd } from '../../bench/report';
import type { MockLlmStats } from '../../daemon/mockLlm/stats';

/** A series sampled every second: requests and admitted tokens given as per-second increments. */
function series(perSecond: readonly { requests: number; tokens: number }[]): StatsSample[] {
  let requests = 0;
  let tokens = 0;
  return perSecond.map((step, second) => {
    requests += step.requests;
    tokens += step.tokens;
    const stats = {
      requests: { total: requests, byStatus: {} },
      admitted: { requests, tokens },
    } as unknown as MockLlmStats;
    return { atMs: second * 1000, stats };
  });
}

describe('bench: reading the mock /stats series', () => {
  it('measures the steady rate between 20 % and 80 % of the active span, leaving out an idle start and a slow tail', () => {
    const samples = series([
      ...Array.from({ length: 5 }, () => ({ requests: 0, tokens: 0 })),
      ...Array.from({ length: 50 }, () => ({ requests: 200, tokens: 0 })),
      ...Array.from({ length: 3 }, () => ({ requests: 10, tokens: 0 })),
      ...Array.from({ length: 5 }, () => ({ requests: 0, tokens: 0 })),
    ]);
    assert.equal(Math.round(steadyRate(samples, counters.requests)), 200);
  });

  it('reads the share of a limit in every window after the first, and finds the emptiest', () => {
    // 1,000 tokens/s for 120 s with a 10 s gap at 90–99 s: the worst 60 s window holds 50 s of tokens.
    const samples = series(
      Array.from({ length: 121 }, (_, second) => ({ requests: 1, tokens: second === 0 || (second > 90 && second <= 100) ? 0 : 1000 })),
    );
    const shares = windowShares(samples, counters.admittedTokens, 60_000, 60_000, 0);
    assert.equal(shares.windows, 61);
    assert.ok(Math.abs(shares.min - 50 / 60) < 1e-9, `min ${shares.min}`);
    assert.ok(shares.mean < 1 && shares.mean > 50 / 60);
    const afterFirstMinute = windowShares(samples, counters.admittedTokens, 60_000, 60_000, 60_000);
    assert.equal(afterFirstMinute.windows, 1);
  });
});

describe('bench: the report table', () => {
  it('shows measured / target with ✓ or ✗, the baseline and the ratio', () => {
    const result: ScenarioResult = {
      id: 'overhead',
      title: '1. Overhead',
      setup: '10 records',
      metrics: [
        { name: 'CPU per record', unit: 'µs', drover: 25, baseline: 10, target: { kind: 'max', value: 20 } },
        { name: 'records/s', unit: '', drover: 3000, baseline: 1500, target: { kind: 'min', value: 1500, label: '≥ baseline' } },
        { name: 'peak RSS', unit: 'MB', drover: 200, baseline: null },
      ],
      bottleneck: '',
      raw: {},
    };
    const lines = markdownTable([result]).split('\n');
    assert.equal(lines[2], '| **1. Overhead**<br>10 records | CPU per record | 25 µs / ≤ 20 ✗ | 10 µs | 2.50× |');
    assert.equal(lines[3], '|  | records/s | 3,000 / ≥ baseline ✓ | 1,500 | 2.00× |');
    assert.equal(lines[4], '|  | peak RSS | 200 MB | — | — |');
  });

  it('replaces only the section between the markers of BENCHMARKS.md, and refuses a file without them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-bench-md-'));
    try {
      const file = join(dir, 'BENCHMARKS.md');
      writeFileSync(file, '# Benchmarks\n\nprose before\n\n<!-- bench:table:start -->\nold table\n<!-- bench:table:end -->\n\nprose after\n');
      const machine = { cores: 2, cpuModel: 'CPU', memoryGb: 8, node: '20', postgres: null, loadAverage: 0.1, line: '2 × CPU, 8 GB RAM, Node 20' };
      const scenario: ScenarioResult = {
        id: 'faults',
        title: '4. Faults',
        setup: 'x',
        metrics: [{ name: 'records finished correctly', unit: '%', drover: 100, baseline: 98, target: { kind: 'min', value: 100 } }],
        bottleneck: 'retries',
        raw: {},
      };
      updateBenchmarksMd({ date: '2026-12-03', quick: false, only: null, machine, commands: ['npm run bench'], scenarios: [scenario] }, file);
      const text = readFileSync(file, 'utf8');
      assert.ok(text.startsWith('# Benchmarks\n\nprose before\n\n<!-- bench:table:start -->\n'));
      assert.ok(text.endsWith('<!-- bench:table:end -->\n\nprose after\n'));
      assert.ok(!text.includes('old table'));
      assert.match(text, /Measured 2026-12-03 on 2 × CPU, 8 GB RAM, Node 20\./);
      assert.match(text, /Commands: `npm run bench`\./);
      assert.match(text, /\| 100 % \/ ≥ 100 ✓ \| 98 % \| 1\.02× \|/);
      assert.match(text, /- \*\*4\. Faults\*\*: retries/);
      writeFileSync(file, 'no markers\n');
      assert.throws(() => updateBenchmarksMd({ date: '2026-12-03', quick: false, only: null, machine, commands: [], scenarios: [] }, file), /no <!-- bench:table:start -->/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
