// Claims, leases and fencing of the shared Postgres ledger against the real server: a stale
// fence commits nothing, an expired lease is claimed again, SKIP LOCKED never hands one
// record to two claimers, and the loader runs in one worker at a time.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { Pool } from 'pg';
import type { RecordUpdate } from '../../daemon/ledger/ledger';
import { createPool, withClient } from '../../daemon/postgres/pool';
import { LedgerLoader } from '../../daemon/sharedLedger/ledgerLoader';
import { PostgresLedger } from '../../daemon/sharedLedger/postgresLedger';
import { createSharedTables, sharedTables } from '../../daemon/sharedLedger/sharedSchema';
import type { RecordSource, SourceItem } from '../../daemon/sources/source';
import { postgresTestDb } from '../support/postgresTesting';
import { postgresUrl } from '../support/services';

const db = postgresTestDb('drover_fence');
const { schema, sql } = db;
const tables = sharedTables(schema);
let pool: Pool;

before(async () => {
  await db.setUp();
  pool = createPool({ connectionString: postgresUrl, max: 30 });
  await withClient(pool, (client) => createSharedTables(client, schema));
});
after(async () => {
  await pool.end();
  await db.tearDown();
});

async function createJob(job: string, records: number): Promise<void> {
  await sql(`INSERT INTO ${tables.jobs} (name, spec_json, config_hash, status, loaded) VALUES ($1, '{}', 'h', 'running', true)`, [job]);
  await sql(
    `INSERT INTO ${tables.records} (job, key, ordinal, fields) SELECT $1, 'r' || g, g, jsonb_build_object('text', 'record ' || g) FROM generate_series(1, $2::int) g`,
    [job, records],
  );
}

const worker = (job: string, owner: string, leaseMs: number) =>
  new PostgresLedger(pool, schema, job, owner, leaseMs, null, (error) => assert.fail(String(error)));

const answers = (keys: readonly string[], by: string): RecordUpdate[] =>
  keys.map((key) => ({ key, ordinal: 0, status: 'done', inputHash: 'h', output: { by }, promptTokens: 10, completionTokens: 5, costUsd: 0.001 }));

describe('shared Postgres ledger: claims and fences', () => {
  it('refuses a commit with a stale fence, changing nothing, and takes the new owner\'s', async () => {
    await createJob('stale', 5);
    const stale = worker('stale', 'stale-worker', 150);
    const fresh = worker('stale', 'fresh-worker', 60_000);
    const first = await stale.claim(5);
    assert.equal(first.length, 5);
    assert.equal((await fresh.claim(5)).length, 0, 'a live lease is not claimable');
    await sleep(300);
    const second = await fresh.claim(5);
    assert.deepEqual(second.map((row) => row.key), first.map((row) => row.key), 'the expired lease was claimed again');

    const refused = await stale.commit(answers(first.map((row) => row.key), 'stale'), { requests: 1, costUsd: 0.005 });
    assert.equal(refused.committed, false);
    assert.deepEqual([...refused.lost].sort(), first.map((row) => row.key).sort());
    const untouched = await sql(`SELECT status, output, lease_owner, committed_by FROM ${tables.records} WHERE job = 'stale'`);
    assert.ok(untouched.every((row) => row.status === 'pending' && row.output === null && row.lease_owner === 'fresh-worker' && row.committed_by === null));
    // The stale worker's spend is still counted: it was paid for.
    assert.equal(Number((await sql(`SELECT requests FROM ${tables.jobs} WHERE name = 'stale'`))[0]?.requests), 1);

    const accepted = await fresh.commit(answers(second.map((row) => row.key), 'fresh'), { requests: 1 });
    assert.equal(accepted.committed, true);
    const rows = await sql(`SELECT status, output, committed_by FROM ${tables.records} WHERE job = 'stale'`);
    assert.ok(rows.every((row) => row.status === 'done' && (row.output as { by: string }).by === 'fresh' && row.committed_by === 'fresh-worker'));
    // A record once committed cannot be committed again, fence or not.
    assert.equal((await fresh.commit(answers(['r1'], 'again'), {})).committed, false);
  });

  it('rolls back a whole batch when one record of it was lost, and gives the others back', async () => {
    await createJob('partial', 4);
    const slow = worker('partial', 'slow', 150);
    const other = worker('partial', 'other', 60_000);
    await slow.claim(4);
    await sleep(300);
    const taken = await other.claim(1);
    assert.deepEqual(taken.map((row) => row.key), ['r1']);
    const result = await slow.commit(answers(['r1', 'r2', 'r3', 'r4'], 'slow'), {});
    assert.equal(result.committed, false);
    assert.deepEqual(result.lost, ['r1']);
    const rows = await sql(`SELECT key, status, lease_owner FROM ${tables.records} WHERE job = 'partial' ORDER BY key`);
    assert.deepEqual(rows, [
      { key: 'r1', status: 'pending', lease_owner: 'other' },
      { key: 'r2', status: 'pending', lease_owner: null },
      { key: 'r3', status: 'pending', lease_owner: null },
      { key: 'r4', status: 'pending', lease_owner: null },
    ]);
    assert.equal((await other.claim(10)).length, 3, 'the records given back are claimable at once');
  });

  it('counts attempts only under a live fence, and a heartbeat finds the leases it lost', async () => {
    await createJob('attempts', 3);
    const owner = worker('attempts', 'a', 150);
    const thief = worker('attempts', 'b', 60_000);
    const claimed = await owner.claim(3);
    const attempted = claimed.map((row) => ({ key: row.key, ordinal: row.ordinal, inputHash: 'h' }));
    assert.equal(await owner.markAttempted(attempted), true);
    assert.deepEqual(await owner.heartbeat(), [], 'a heartbeat in time keeps every lease');
    await sleep(300);
    await thief.claim(1);
    assert.deepEqual(await owner.heartbeat(), ['r1']);
    assert.equal(await owner.markAttempted(attempted), false, 'a batch with a lost record is not sent');
    const rows = await sql(`SELECT key, attempts FROM ${tables.records} WHERE job = 'attempts' ORDER BY key`);
    assert.deepEqual(rows.map((row) => row.attempts), [1, 1, 1], 'the refused attempt counted nothing');
  });

  it('never hands one record to two of many concurrent claimers', async () => {
    await createJob('crowd', 3000);
    const claimers = Array.from({ length: 12 }, (_, index) => worker('crowd', `w${index}`, 60_000));
    const seen = new Map<string, string>();
    await Promise.all(
      claimers.map(async (claimer) => {
        for (;;) {
          const rows = await claimer.claim(37);
          if (rows.length === 0) return;
          for (const row of rows) {
            assert.equal(seen.get(row.key), undefined, `${row.key} was claimed by ${seen.get(row.key)} and ${claimer.owner}`);
            seen.set(row.key, claimer.owner);
          }
        }
      }),
    );
    assert.equal(seen.size, 3000);
    const owners = new Set(seen.values());
    assert.ok(owners.size > 1, 'the claims were spread over several workers');
    const fences = await sql(`SELECT count(DISTINCT fence) AS fences, count(*) AS records FROM ${tables.records} WHERE job = 'crowd'`);
    assert.equal(Number(fences[0]?.records), 3000);
    assert.ok(Number(fences[0]?.fences) >= Math.ceil(3000 / 37), 'every claim has a fence of its own');
  });

  it('loads the source in one worker at a time and resumes after the last page another loaded', async () => {
    await sql(`INSERT INTO ${tables.jobs} (name, spec_json, config_hash, status) VALUES ('load', '{}', 'h', 'running')`);
    const items = (from: number, to: number): SourceItem[] =>
      Array.from({ length: to - from + 1 }, (_, index) => {
        const ordinal = from + index;
        return { kind: 'record', key: String(ordinal), ordinal, cursor: { ordinal, key: ordinal }, fields: { text: `row ${ordinal}`, big: BigInt(ordinal) } };
      });
    let readAfter: number | null = null;
    const source = (rows: SourceItem[], hold?: Promise<void>): RecordSource => ({
      description: 'test rows',
      count: () => Promise.resolve({ total: rows.length, exact: true }),
      async *read(options = {}) {
        readAfter = typeof options.after?.key === 'number' ? options.after.key : null;
        for (const item of rows.filter((row) => row.ordinal > (options.after?.ordinal ?? 0))) {
          yield item;
          if (item.ordinal === 600 && hold) await hold;
        }
      },
      close: () => Promise.resolve(),
    });
    const loaderPool = createPool({ connectionString: postgresUrl, max: 1 });
    const otherPool = createPool({ connectionString: postgresUrl, max: 1 });
    try {
      const first = new LedgerLoader(loaderPool, tables, 'load');
      const second = new LedgerLoader(otherPool, tables, 'load');
      let release = () => undefined as void;
      const hold = new Promise<void>((resolve) => (release = resolve));
      const stopFirst = new AbortController();
      const loading = first.load(() => Promise.resolve(source(items(1, 1200), hold)), stopFirst.signal);
      await sleep(300);
      assert.equal(await second.load(() => Promise.resolve(source(items(1, 1200))), new AbortController().signal), 'busy');
      stopFirst.abort();
      release();
      assert.equal(await loading, 'stopped');
      const loadedSoFar = Number((await sql(`SELECT count(*) AS n FROM ${tables.records} WHERE job = 'load'`))[0]?.n);
      assert.ok(loadedSoFar >= 500 && loadedSoFar < 1200, `stopped part-way (${loadedSoFar} loaded)`);
      assert.equal(await second.load(() => Promise.resolve(source(items(1, 1200))), new AbortController().signal), 'loaded');
      assert.ok(readAfter !== null && readAfter >= 500, 'the second loader resumed after the first one\'s last page');
      const rows = await sql(`SELECT count(*) AS n, count(DISTINCT key) AS keys, max((fields->>'big')::int) AS big FROM ${tables.records} WHERE job = 'load'`);
      assert.deepEqual(rows[0], { n: '1200', keys: '1200', big: 1200 });
      const job = await sql(`SELECT loaded, total FROM ${tables.jobs} WHERE name = 'load'`);
      assert.deepEqual(job[0], { loaded: true, total: '1200' });
    } finally {
      await loaderPool.end();
      await otherPool.end();
    }
  });
});
