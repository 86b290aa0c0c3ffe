import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultOutputSchema } from '../../daemon/spec/jobSpec';
import { loadSpecFile, SpecError, validateSpec } from '../../daemon/spec/loadSpec';

const minimal = { name: 'feedback', source: { type: 'file', path: 'in.jsonl' }, prompt: { template: '{{text}}' } };

describe('job spec', () => {
  it('fills defaults: sentiment output, limits, retry', () => {
    const spec = validateSpec(minimal);
    assert.deepEqual(spec.output, defaultOutputSchema);
    assert.equal(spec.batching.recordsPerRequest, 20);
    assert.equal(spec.retry.maxAttempts, 6);
    assert.equal(spec.provider.structuredOutput, 'json_schema');
  });

  it('names the JSON path and what is expected for each problem', () => {
    const bad = {
      ...minimal,
      name: 'has space',
      source: { type: 'sqlite', path: 'a.db', query: 'SELECT 1', table: 't' },
      limits: { concurrency: 0 },
      sink: { type: 'parquet' },
    };
    assert.throws(
      () => validateSpec(bad, 'job.drover.json'),
      (error: unknown) => {
        assert.ok(error instanceof SpecError);
        const has = (prefix: string) => error.problems.some((problem) => problem.startsWith(prefix));
        assert.ok(has('name: '), error.message);
        assert.ok(has('source.query: give exactly one of'), error.message);
        assert.ok(has('limits.concurrency: '), error.message);
        assert.ok(has('sink.type: '), error.message);
        return true;
      },
    );
  });

  it('has no ledger by default; a shared Postgres ledger gets its defaults and checked fields', () => {
    assert.equal(validateSpec(minimal).ledger, undefined);
    const shared = validateSpec({ ...minimal, ledger: { postgres: 'postgres://drover@db:5432/jobs' } });
    assert.deepEqual(shared.ledger, { postgres: 'postgres://drover@db:5432/jobs', schema: 'drover', leaseMs: 60_000 });
    assert.throws(
      () => validateSpec({ ...minimal, ledger: { postgres: 'postgres://db/jobs', schema: 'Drover Ledger', leaseMs: 10, claimSize: 0, lease: 5 } }),
      (error: unknown) => {
        assert.ok(error instanceof SpecError);
        const has = (prefix: string) => error.problems.some((problem) => problem.startsWith(prefix));
        for (const path of ['ledger.schema: ', 'ledger.leaseMs: ', 'ledger.claimSize: ', 'ledger: ']) assert.ok(has(path), `${path} in ${error.message}`);
        return true;
      },
    );
  });

  it('refuses batch mode on a shared ledger instead of quietly running it online', () => {
    assert.throws(
      () => validateSpec({ ...minimal, mode: 'batch', ledger: { postgres: 'postgres://drover@db:5432/jobs' } }),
      (error: Error) => error.message.includes('mode: batch mode runs on the job\'s own ledger'),
    );
    assert.equal(validateSpec({ ...minimal, mode: 'batch' }).mode, 'batch');
  });

  it('rejects unknown fields rather than ignoring a typo', () => {
    assert.throws(() => validateSpec({ ...minimal, limit: { rpm: 5 } }), /Unrecognized key.*"limit"/);
  });

  it('reports JSON syntax errors with line and column, and resolves paths against the spec file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drover-spec-'));
    const broken = join(dir, 'broken.drover.json');
    await writeFile(broken, '{\n  "name": "x",\n  "source": }\n');
    await assert.rejects(loadSpecFile(broken), /line 3, column \d+/);
    const good = join(dir, 'good.drover.json');
    await writeFile(good, JSON.stringify({ ...minimal, sink: { type: 'jsonl', path: 'out/r.jsonl' } }));
    const spec = await loadSpecFile(good);
    assert.equal(spec.source.type === 'file' && spec.source.path, join(dir, 'in.jsonl'));
    assert.equal(spec.sink?.type === 'jsonl' && spec.sink.path, join(dir, 'out/r.jsonl'));
  });
});
