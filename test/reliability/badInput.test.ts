// Bad input end to end through `drover run`: every bad line, row or record ends failed with
// an error that names it, the good ones end done (each sent once), and the job finishes
// with exit code 1 (done, some records failed). What is asserted is `drover export`.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startMockLlm, type MockLlmServer } from '../../daemon/mockLlm/server';
import { openSource } from '../../daemon/sources/openSource';
import type { SourceItem } from '../../daemon/sources/source';
import { fileSourceSchema } from '../../daemon/spec/jobSpec';
import { runCli } from '../support/cli';

interface Exported {
  key: string;
  status: 'done' | 'failed';
  error: string | null;
  errorClass: string | null;
}

let mock: MockLlmServer;
let dir: string;
let jobs = 0;

before(async () => {
  mock = await startMockLlm({});
  dir = await mkdtemp(join(tmpdir(), 'drover-bad-input-'));
});

after(async () => {
  await mock.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs a job over `source` (paths relative to the test's folder) and returns its export by key. */
async function runJob(source: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  jobs += 1;
  const name = `bad-input-${jobs}`;
  const spec = join(dir, `${name}.drover.json`);
  await writeFile(spec, JSON.stringify({ name, source, prompt: { template: 'Feedback: {{text}}' }, provider: { baseUrl: mock.url }, cache: false, ...extra }));
  mock.resetStats();
  const stateDir = join(dir, 'state');
  const run = await runCli(['run', spec, '--json', '--state-dir', stateDir]);
  const exported = await runCli(['export', name, '--state-dir', stateDir]);
  assert.equal(exported.code, 0, exported.stderr);
  const records = new Map(
    exported.stdout
      .trim()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Exported)
      .map((record) => [record.key, record]),
  );
  return { run, records, sent: mock.recordCounts() };
}

function assertFailed(records: Map<string, Exported>, key: string, errorClass: string, error: RegExp): void {
  const record = records.get(key);
  assert.ok(record, `no record ${key} in ${[...records.keys()].join(', ')}`);
  assert.equal(record.status, 'failed', `record ${key}`);
  assert.equal(record.errorClass, errorClass, `record ${key}: ${record.error}`);
  assert.match(record.error ?? '', error);
}

function assertDoneOnce(records: Map<string, Exported>, sent: Record<string, number>, keys: string[]): void {
  for (const key of keys) {
    assert.equal(records.get(key)?.status, 'done', `record ${key}: ${records.get(key)?.error}`);
    assert.equal(sent[key], 1, `record ${key} sent ${sent[key]} times`);
  }
}

describe('bad input, end to end through drover run', () => {
  it('JSONL: malformed JSON, a non-object, invalid UTF-8, a raw NUL byte and a missing template field each fail by line; the rest is done', async () => {
    const lines = [
      Buffer.from('{"text":"great product, love it"}'),
      Buffer.from('{"text":"broken"'),
      Buffer.from('[1,2,3]'),
      Buffer.concat([Buffer.from('{"text":"caf'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
      Buffer.concat([Buffer.from('{"text":"a'), Buffer.from([0x00]), Buffer.from('b"}')]),
      Buffer.from('{"comment":"no text field here"}'),
      Buffer.from('{"text":"terrible support"}'),
    ];
    await writeFile(join(dir, 'mixed.jsonl'), Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')])));
    const { run, records, sent } = await runJob({ type: 'file', path: 'mixed.jsonl' });
    assert.equal(run.code, 1, run.stderr);
    assertDoneOnce(records, sent, ['1', '7']);
    assertFailed(records, 'line:2', 'malformed', /^line 2: not valid JSON/);
    assertFailed(records, 'line:3', 'malformed', /^line 3: expected a JSON object, got an array/);
    assertFailed(records, 'line:4', 'malformed', /^line 4: not valid UTF-8/);
    assertFailed(records, 'line:5', 'malformed', /^line 5: not valid JSON/);
    assertFailed(records, '6', 'template', /record 6 \(line 6\) has no field "text".*it has "comment"/);
    assert.equal(records.size, 7);
  });

  it('JSONL keyed by a field: duplicate, null and missing keys fail by line instead of overwriting or vanishing', async () => {
    const lines = [
      { id: 'a', text: 'good' },
      { id: 'b', text: 'bad' },
      { id: 'a', text: 'the same key again, different text' },
      { id: null, text: 'null key' },
      { text: 'no key at all' },
      { id: 'c', text: 'fine' },
    ];
    await writeFile(join(dir, 'keyed.jsonl'), lines.map((line) => JSON.stringify(line)).join('\n'));
    const { run, records, sent } = await runJob({ type: 'file', path: 'keyed.jsonl', key: 'id' });
    assert.equal(run.code, 1, run.stderr);
    assertDoneOnce(records, sent, ['a', 'b', 'c']);
    assertFailed(records, 'line:3', 'malformed', /^line 3: key field "id" \(source\.key\) value "a" was already used on line 1; keys must be unique/);
    assertFailed(records, 'line:4', 'malformed', /^line 4: key field "id" \(source\.key\) is null/);
    assertFailed(records, 'line:5', 'malformed', /^line 5: key field "id" \(source\.key\) is missing/);
    assert.equal(records.size, 6);
    assert.equal(sent.a, 1, 'the first record with key "a" kept its answer');
  });

  it('a key repeated after the point a resumed run starts from fails too (keys before it count)', async () => {
    const path = join(dir, 'resumed.jsonl');
    await writeFile(path, ['a', 'b', 'c', 'a'].map((id) => JSON.stringify({ id, text: `text ${id}` })).join('\n'));
    const source = await openSource(fileSourceSchema.parse({ type: 'file', path, key: 'id' }));
    try {
      const items: SourceItem[] = [];
      for await (const item of source.read({ after: { ordinal: 2, key: 'b' } })) items.push(item);
      assert.deepEqual(items.map((item) => item.key), ['c', 'line:4']);
      const repeated = items[1];
      assert.ok(repeated?.kind === 'malformed');
      assert.match(repeated.reason, /^line 4: key field "id" \(source\.key\) value "a" was already used on line 1/);
    } finally {
      await source.close();
    }
  });

  it('CSV with a byte order mark: ragged rows, invalid UTF-8 and NUL bytes fail by line; the BOM does not leak into the first column', async () => {
    const csv = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('id,text,lang\r\n'),
      Buffer.from('1,lovely and fast,en\r\n'),
      Buffer.from('2,too few fields\r\n'),
      Buffer.from('3,too,many,fields,here\r\n'),
      Buffer.concat([Buffer.from('4,bad '), Buffer.from([0xff, 0xfe]), Buffer.from(' bytes,en\r\n')]),
      Buffer.concat([Buffer.from('5,nul '), Buffer.from([0x00]), Buffer.from(' byte,en\r\n')]),
      Buffer.from('6,awful and slow,en\r\n'),
    ]);
    await writeFile(join(dir, 'ragged.csv'), csv);
    const { run, records, sent } = await runJob({ type: 'file', path: 'ragged.csv', key: 'id' });
    assert.equal(run.code, 1, run.stderr);
    assertDoneOnce(records, sent, ['1', '6']);
    assertFailed(records, 'line:3', 'malformed', /^line 3: 2 fields, the header has 3/);
    assertFailed(records, 'line:4', 'malformed', /^line 4: 5 fields, the header has 3/);
    assertFailed(records, 'line:5', 'malformed', /^line 5: column "text" is not valid UTF-8/);
    assertFailed(records, 'line:6', 'malformed', /^line 6: column "text" contains a NUL byte/);
  });

  it('a JSON array with a syntax error in the middle: the elements before it are done, the rest fails with one clear item', async () => {
    await writeFile(join(dir, 'broken.json'), '[{"text":"good"},\n{"text":"fine"},\n{"text": oops},\n{"text":"never read"}]');
    const { run, records, sent } = await runJob({ type: 'file', path: 'broken.json' });
    assert.equal(run.code, 1, run.stderr);
    assertDoneOnce(records, sent, ['1', '2']);
    // The parser looks a few characters ahead, so the fault on line 3 is found in line 4's bytes.
    assertFailed(records, 'element:3', 'malformed', /^element 3 and all after it could not be read: a JSON syntax error on or shortly before line 4 \(file bytes 51–72\)/);
  });

  it('an empty file is a job of zero records, done at once', async () => {
    await writeFile(join(dir, 'empty.jsonl'), '');
    const { run, records } = await runJob({ type: 'file', path: 'empty.jsonl' });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(records.size, 0);
    assert.match(run.stdout.trim().split('\n').at(-1) ?? '', /"records":\{"total":0,"done":0,"failed":0\}/);
    assert.equal(mock.stats().requests.total, 0);
  });

  for (const oversize of ['fail', 'truncate'] as const) {
    it(`a single 20 MB record with batching.oversize "${oversize}": ${oversize === 'fail' ? 'failed, naming the record and the limit' : 'sent truncated'}; the others are done`, async () => {
      const big = JSON.stringify({ id: 'big', text: 'word '.repeat(4 * 1024 * 1024) });
      await writeFile(join(dir, `big-${oversize}.jsonl`), `{"id":"small-1","text":"nice"}\n${big}\n{"id":"small-2","text":"bad"}\n`);
      const { run, records, sent } = await runJob({ type: 'file', path: `big-${oversize}.jsonl`, key: 'id' }, { batching: { oversize } });
      assertDoneOnce(records, sent, ['small-1', 'small-2']);
      if (oversize === 'fail') {
        assert.equal(run.code, 1, run.stderr);
        assertFailed(records, 'big', 'oversize', /record big \(line 2\) needs \d+ prompt tokens, more than batching\.maxPromptTokens \(6000\) allows/);
        assert.equal(sent.big, undefined, 'never sent');
      } else {
        assert.equal(run.code, 0, run.stderr);
        assert.equal(records.get('big')?.status, 'done');
        assert.equal(sent.big, 1);
      }
    });
  }

  it('SQLite: duplicate and NULL keys fail with the row they came from; every other row is done once', async () => {
    const path = join(dir, 'dupes.db');
    const db = new Database(path);
    db.exec('CREATE TABLE feedback (id INTEGER, text TEXT)');
    const insert = db.prepare('INSERT INTO feedback (id, text) VALUES (?, ?)');
    for (const [id, text] of [[1, 'good'], [2, 'bad'], [2, 'two again'], [null, 'no key'], [3, 'fine'], [2, 'two a third time']] as const) insert.run(id, text);
    db.close();
    const { run, records, sent } = await runJob({ type: 'sqlite', path: 'dupes.db', table: 'feedback', key: 'id' });
    assert.equal(run.code, 1, run.stderr);
    assertDoneOnce(records, sent, ['1', '2', '3']);
    assertFailed(records, 'null-key:1', 'malformed', /key column "id" is NULL.*"text":"no key"/);
    assertFailed(records, 'duplicate:2#2', 'malformed', /key 2 in column "id" appears more than once \(occurrence 2\)/);
    assertFailed(records, 'duplicate:2#3', 'malformed', /key 2 in column "id" appears more than once \(occurrence 3\)/);
    assert.equal(records.size, 6);
  });
});
