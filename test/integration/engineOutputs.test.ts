import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { formatCost, parseCurrency } from '../../daemon/cost/currency';
import { sampleFeedback } from '../../daemon/demo/sampleFeedback';
import { analyseSentiment } from '../../daemon/mockLlm/analyst';
import { JobRunner } from '../../daemon/pipeline/jobRunner';
import { jobEstimateSchema } from '../../daemon/protocol/estimate';
import { runCli } from '../support/cli';
import { createFixture } from '../support/engineFixture';

const classification = {
  type: 'object',
  properties: {
    topic: { type: 'string', enum: ['delivery', 'support', 'quality', 'price', 'other'] },
    urgent: { type: 'boolean' },
    summary: { type: 'string', maxLength: 60 },
  },
  required: ['topic', 'urgent', 'summary'],
  additionalProperties: false,
};

describe('engine outputs: sinks, export, estimate', () => {
  it('writes a SQLite results table into the source database, typed, upserted by key', async () => {
    const fixture = await createFixture(500);
    try {
      const spec = fixture.spec({ sink: { type: 'sqlite' } });
      await new JobRunner(spec, { stateDir: fixture.stateDir }).run();
      // A second run of a finished job changes nothing and duplicates nothing.
      await new JobRunner(spec, { stateDir: fixture.stateDir }).run();
      const db = new Database(fixture.dbPath, { readonly: true });
      const rows = db.prepare('SELECT key, status, sentiment, score, typeof(score) AS scoreType, output FROM feedback_results ORDER BY CAST(key AS INTEGER)').all() as {
        key: string;
        status: string;
        sentiment: string;
        score: number;
        scoreType: string;
        output: string;
      }[];
      db.close();
      assert.equal(rows.length, 500);
      for (const row of rows) {
        const expected = analyseSentiment(sampleFeedback(Number(row.key)));
        assert.equal(row.status, 'done');
        assert.equal(row.sentiment, expected.sentiment);
        assert.equal(row.score, expected.score);
        assert.equal(row.scoreType, 'integer');
        assert.deepEqual(JSON.parse(row.output), { sentiment: expected.sentiment, score: expected.score });
      }
    } finally {
      await fixture.cleanup();
    }
  });

  it('writes CSV with the answer fields as columns, quoted where needed, and a custom schema', async () => {
    const fixture = await createFixture(300);
    try {
      const path = join(fixture.dir, 'out', 'topics.csv');
      const spec = fixture.spec({ output: classification, sink: { type: 'csv', path } });
      const summary = await new JobRunner(spec, { stateDir: fixture.stateDir }).run();
      assert.equal(summary.records.done, 300);
      const rows = parse<Record<string, string>>(await readFile(path), { columns: true });
      assert.equal(rows.length, 300);
      assert.deepEqual(Object.keys(rows[0] ?? {}), ['key', 'status', 'topic', 'urgent', 'summary', 'error', 'error_class', 'model', 'cost_usd']);
      for (const row of rows) {
        assert.ok(classification.properties.topic.enum.includes(row.topic ?? ''), `topic ${row.topic}`);
        assert.ok(row.urgent === 'true' || row.urgent === 'false');
        assert.ok(Number(row.cost_usd) > 0);
      }
    } finally {
      await fixture.cleanup();
    }
  });

  it('drover export writes any job, finished or not, as JSONL or CSV', async () => {
    const fixture = await createFixture(400);
    try {
      await new JobRunner(fixture.spec({ limits: { budgetUsd: 0.002, concurrency: 2 } }), { stateDir: fixture.stateDir }).run();
      const jsonl = await runCli(['export', 'feedback', '--state-dir', fixture.stateDir]);
      assert.equal(jsonl.code, 0, jsonl.stderr);
      const records = jsonl.stdout.trim().split('\n').map((line) => JSON.parse(line) as { key: string; status: string; output: unknown });
      assert.ok(records.length > 0 && records.length < 400, `a paused job exports what it has (${records.length})`);
      assert.ok(records.every((record) => record.status === 'done' && record.output !== null));
      const out = join(fixture.dir, 'export.csv');
      const csv = await runCli(['export', 'feedback', '--state-dir', fixture.stateDir, '--out', out]);
      assert.equal(csv.code, 0, csv.stderr);
      assert.match(csv.stderr, new RegExp(`wrote ${records.length} records of feedback \\(paused\\)`));
      assert.equal(parse<Record<string, string>>(await readFile(out), { columns: true }).length, records.length);
      const missing = await runCli(['export', 'nope', '--state-dir', fixture.stateDir]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /no job "nope"/);
    } finally {
      await fixture.cleanup();
    }
  });

  it('drover estimate counts every token, packs like the run and prices the alternatives', async () => {
    const fixture = await createFixture(1000);
    try {
      const specPath = join(fixture.dir, 'job.drover.json');
      await writeFile(specPath, JSON.stringify({ name: 'est', source: { type: 'sqlite', path: fixture.dbPath, table: 'feedback' }, prompt: { template: '{{text}}' }, provider: { baseUrl: fixture.mock.url }, limits: { rpm: 600, tpm: 100000 } }));
      const json = await runCli(['estimate', specPath, '--json']);
      assert.equal(json.code, 0, json.stderr);
      const estimate = jobEstimateSchema.parse(JSON.parse(json.stdout));
      assert.equal(estimate.records.basis, 'all');
      assert.equal(estimate.records.total, 1000);
      assert.equal(estimate.requests, 50);
      assert.equal(estimate.models[0]?.model, 'gpt-4.1-mini');
      assert.ok(estimate.models.length > 5);
      assert.ok(estimate.duration.seconds !== null && estimate.duration.seconds > 0);

      // The run's real prompt tokens land close to the estimate.
      const summary = await new JobRunner(fixture.spec({ name: 'est-run', cache: false }), { stateDir: fixture.stateDir }).run();
      const error = Math.abs(summary.tokens.prompt - estimate.tokens.prompt) / summary.tokens.prompt;
      assert.ok(error < 0.05, `estimated ${estimate.tokens.prompt} prompt tokens, used ${summary.tokens.prompt}`);

      const text = await runCli(['estimate', specPath, '--currency', 'JPY:150']);
      assert.match(text.stdout, /▸ gpt-4\.1-mini .*¥/);
      assert.match(text.stdout, /duration ≈ .* \(limited by (rpm|tpm)\)/);
    } finally {
      await fixture.cleanup();
    }
  });

  it('formats costs in a configured currency', () => {
    assert.equal(formatCost(12.345), '$12.35');
    assert.equal(formatCost(12.3, parseCurrency('JPY:150')), '¥1,845');
    assert.equal(formatCost(0.00123), '$0.0012');
    assert.throws(() => parseCurrency('EUR'), /rate per USD/);
    assert.throws(() => parseCurrency('dollars'), /CODE or CODE:RATE/);
  });
});
