import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { sqliteSourceSchema } from '../../daemon/spec/jobSpec';
import type { RecordSource, ResumeCursor, SourceItem } from '../../daemon/sources/source';
import { SourceError } from '../../daemon/sources/source';
import { openSqliteSource } from '../../daemon/sources/sqliteSource';
import { compileTemplate } from '../../daemon/sources/template';

const dir = mkdtempSync(join(tmpdir(), 'drover-sqlite-source-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let databases = 0;
/** A fresh database file; `setup` runs on a writable connection that is closed before the test reads. */
function database(setup: (db: Database.Database) => void): string {
  databases += 1;
  const path = join(dir, `source-${databases}.db`);
  const db = new Database(path);
  setup(db);
  db.close();
  return path;
}

function insertRows(db: Database.Database, table: string, rows: Record<string, unknown>[]): void {
  const columns = Object.keys(rows[0] ?? {});
  const insert = db.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((name) => `@${name}`).join(', ')})`);
  for (const row of rows) insert.run(row);
}

function spec(input: Record<string, unknown>) {
  return sqliteSourceSchema.parse({ type: 'sqlite', ...input });
}

async function readAll(source: RecordSource, after?: ResumeCursor): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  for await (const item of source.read(after === undefined ? {} : { after })) items.push(item);
  return items;
}

async function withSource<T>(input: Record<string, unknown>, use: (source: RecordSource) => Promise<T>): Promise<T> {
  const source = await openSqliteSource(spec(input));
  try {
    return await use(source);
  } finally {
    await source.close();
  }
}

function fileHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe('sqlite source: order and resume', () => {
  const ids = [40, 3, 1000, 17, 5, 2, 999, 64];
  const numbered = database((db) => {
    db.exec('CREATE TABLE feedback (id INTEGER PRIMARY KEY, text TEXT NOT NULL)');
    insertRows(db, 'feedback', ids.map((id) => ({ id, text: `text ${id}` })));
  });

  it('reads integer keys with gaps in key order, page by page, with the rows as fields', async () => {
    const items = await withSource({ path: numbered, table: 'feedback', pageSize: 3 }, readAll);
    const sorted = [...ids].sort((a, b) => a - b);
    assert.deepEqual(
      items.map((item) => item.key),
      sorted.map(String),
    );
    assert.deepEqual(
      items.map((item) => item.ordinal),
      sorted.map((_id, index) => index + 1),
    );
    const first = items[0];
    assert.ok(first?.kind === 'record');
    assert.deepEqual(first.fields, { id: sorted[0], text: `text ${sorted[0]}` });
    assert.deepEqual(first.cursor, { ordinal: 1, key: sorted[0] });
  });

  it('reads text keys in text order from a query', async () => {
    const path = database((db) => {
      db.exec('CREATE TABLE notes (code TEXT, body TEXT)');
      insertRows(db, 'notes', ['pear', 'Apple', 'banana', 'apple', 'cherry'].map((code) => ({ code, body: `about ${code}` })));
    });
    const items = await withSource({ path, query: 'SELECT code, body FROM notes', key: 'code', pageSize: 2 }, readAll);
    // SQLite's BINARY order: upper case before lower case.
    assert.deepEqual(
      items.map((item) => item.key),
      ['Apple', 'apple', 'banana', 'cherry', 'pear'],
    );
  });

  it('resumes strictly after a cursor, so the two reads together are the whole source once', async () => {
    await withSource({ path: numbered, table: 'feedback', pageSize: 2 }, async (source) => {
      const all = await readAll(source);
      for (const cut of [1, 3, 4, all.length - 1, all.length]) {
        const cursor = all[cut - 1]?.cursor;
        assert.ok(cursor);
        // The cursor goes through JSON, as it does through the ledger.
        const rest = await readAll(source, JSON.parse(JSON.stringify(cursor)) as ResumeCursor);
        assert.deepEqual(
          rest.map((item) => [item.ordinal, item.key]),
          all.slice(cut).map((item) => [item.ordinal, item.key]),
        );
      }
    });
  });

  it('accepts WITH … SELECT, a final comment or a final semicolon, and reads what the query selects', async () => {
    const with_ = 'WITH big AS (SELECT id, text FROM feedback WHERE id > 10)\nSELECT id, upper(text) AS shout FROM big';
    for (const query of [with_, `${with_} -- only big ids`, `${with_};\n`]) {
      const items = await withSource({ path: numbered, query, pageSize: 2 }, readAll);
      assert.deepEqual(
        items.map((item) => item.key),
        ['17', '40', '64', '999', '1000'],
      );
      const first = items[0];
      assert.ok(first?.kind === 'record');
      assert.equal(first.fields.shout, 'TEXT 17');
    }
  });

  it('asks to drop a final semicolon that is followed by a comment', async () => {
    await assert.rejects(
      openSqliteSource(spec({ path: numbered, query: 'SELECT * FROM feedback; -- all' })),
      /cannot be read as a subquery .*remove the final ";"/,
    );
  });
});

describe('sqlite source: duplicate and NULL keys', () => {
  // row_no identifies every row, so we can check that each one comes out exactly once.
  const keys = [null, 1, 2, 2, 3, 4, 4, 4, null, 5, 6, 6];
  const path = database((db) => {
    db.exec('CREATE TABLE t (row_no INTEGER PRIMARY KEY, id INTEGER)');
    insertRows(db, 't', keys.map((id, index) => ({ row_no: index + 1, id })));
  });
  const rowNumberOf = (item: SourceItem): number => {
    if (item.kind === 'record') return item.fields.row_no as number;
    const match = /"row_no":(\d+)/.exec(item.reason);
    assert.ok(match, item.reason);
    return Number(match[1]);
  };

  it('turns NULL keys and repeated keys (adjacent and across a page boundary) into failed items, losing and doubling nothing', async () => {
    const items = await withSource({ path, query: 'SELECT row_no, id FROM t', pageSize: 2 }, readAll);
    assert.deepEqual(
      items.map(rowNumberOf).sort((a, b) => a - b),
      keys.map((_key, index) => index + 1),
    );
    const records = items.filter((item) => item.kind === 'record');
    assert.deepEqual(
      records.map((item) => item.key),
      ['1', '2', '3', '4', '5', '6'],
    );
    const malformed = items.filter((item) => item.kind === 'malformed');
    assert.equal(malformed.filter((item) => /is NULL/.test(item.reason)).length, 2);
    assert.equal(malformed.filter((item) => /appears more than once/.test(item.reason)).length, 4);
    assert.equal(new Set(items.map((item) => item.key)).size, items.length, 'every item has its own ledger key');
    assert.deepEqual(
      items.map((item) => item.ordinal),
      items.map((_item, index) => index + 1),
    );
  });

  async function resumeAtEveryCut(
    onlyAfter: (item: SourceItem) => boolean,
    check: (rest: SourceItem[], all: SourceItem[], cut: number) => void,
  ): Promise<number> {
    return withSource({ path, query: 'SELECT row_no, id FROM t', pageSize: 2 }, async (source) => {
      const all = await readAll(source);
      let resumed = 0;
      for (let cut = 1; cut <= all.length; cut += 1) {
        const item = all[cut - 1];
        assert.ok(item);
        if (!onlyAfter(item)) continue;
        check(await readAll(source, item.cursor), all, cut);
        resumed += 1;
      }
      return resumed;
    });
  }
  const exactlyTheRest = (rest: SourceItem[], all: SourceItem[], cut: number) => {
    assert.deepEqual(
      rest.map((item) => [item.ordinal, item.key, item.kind]),
      all.slice(cut).map((item) => [item.ordinal, item.key, item.kind]),
      `resume after ordinal ${cut}`,
    );
  };

  it("resumes after a record's cursor with exactly the rest, duplicates and all", async () => {
    assert.equal(await resumeAtEveryCut((item) => item.kind === 'record', exactlyTheRest), 6);
  });

  it('resumes after a cursor inside the NULL-key rows with exactly the rest', async () => {
    assert.equal(await resumeAtEveryCut((item) => item.cursor.key === null, exactlyTheRest), 2);
  });

  it("resumes after a duplicate's cursor without repeating a record or losing an item", async () => {
    // The cursor cannot say which occurrence of a key it was, so the other duplicates of that
    // key may come again, under the same ledger keys as before; nothing else may.
    const resumed = await resumeAtEveryCut(
      (item) => item.kind === 'malformed' && item.cursor.key !== null,
      (rest, all, cut) => {
        const cursorKey = all[cut - 1]?.cursor.key;
        const restKeys = new Set(rest.map((item) => item.key));
        for (const item of all.slice(cut)) assert.ok(restKeys.has(item.key), `lost ${item.key} after ordinal ${cut}`);
        const earlierKeys = new Set(all.slice(0, cut).map((item) => item.key));
        for (const item of rest) {
          if (!earlierKeys.has(item.key)) continue;
          assert.equal(item.kind, 'malformed', `record ${item.key} came again after ordinal ${cut}`);
          assert.equal(item.cursor.key, cursorKey, `${item.key} came again after ordinal ${cut}`);
        }
        assert.equal(restKeys.size, rest.length);
      },
    );
    assert.equal(resumed, 4);
  });
});

describe('sqlite source: refusals', () => {
  const makeTable = (db: Database.Database) => {
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, text TEXT)');
    insertRows(db, 't', [1, 2, 3].map((id) => ({ id, text: `row ${id}` })));
  };

  const refused: [string, RegExp][] = [
    ['DELETE FROM t', /would change the database/],
    ['SELECT 1; DELETE FROM t', /more than one statement/],
    ['SELECT * FROM t; DROP TABLE t', /more than one statement/],
    ['INSERT INTO t (id, text) VALUES (99, \'x\') RETURNING *', /would change the database/],
    ['UPDATE t SET text = \'changed\' RETURNING id', /would change the database/],
    ['PRAGMA table_info(t)', /cannot be read as a subquery/],
    ['PRAGMA user_version = 7', /SELECT/],
    ['EXPLAIN SELECT * FROM t', /cannot be read as a subquery/],
    [`ATTACH DATABASE '${join(dir, 'attached.db')}' AS other`, /SELECT/],
    ['CREATE TABLE u (id INTEGER)', /SELECT/],
  ];

  for (const [query, reason] of refused) {
    it(`refuses ${JSON.stringify(query)} and leaves the database as it was`, async () => {
      const path = database(makeTable);
      const before = fileHash(path);
      await assert.rejects(openSqliteSource(spec({ path, query })), (error: unknown) => {
        assert.ok(error instanceof SourceError, String(error));
        assert.match(error.message, /^source\.query/);
        assert.match(error.message, /exactly one SELECT statement/);
        assert.ok(error.message.includes(JSON.stringify(query.slice(0, 20)).slice(0, -1)), error.message);
        assert.match(error.message, reason);
        return true;
      });
      assert.equal(fileHash(path), before);
      const db = new Database(path, { readonly: true });
      assert.equal(db.prepare('SELECT count(*) FROM t').pluck().get(), 3);
      db.close();
    });
  }

  it('reports a query SQLite cannot parse with SQLite\'s own message', async () => {
    const path = database(makeTable);
    await assert.rejects(openSqliteSource(spec({ path, query: 'SELECT id FORM t' })), /source\.query: SQLite cannot run "SELECT id FORM t": .*syntax error/);
  });

  it('lists the existing tables when the table is missing', async () => {
    const path = database((db) => {
      makeTable(db);
      db.exec('CREATE TABLE reviews (id INTEGER); CREATE VIEW recent AS SELECT * FROM t');
    });
    await assert.rejects(
      openSqliteSource(spec({ path, table: 'feedbak' })),
      /source\.table: there is no table or view "feedbak" in .*; it has "recent", "reviews", "t"/,
    );
  });

  it('treats a table name with quotes and SQL in it as a name, never as SQL', async () => {
    const path = database(makeTable);
    const before = fileHash(path);
    await assert.rejects(openSqliteSource(spec({ path, table: 'x"; DROP TABLE t; --' })), /there is no table or view "x\\"; DROP TABLE t; --"/);
    assert.equal(fileHash(path), before);
    const db = new Database(path, { readonly: true });
    assert.equal(db.prepare('SELECT count(*) FROM t').pluck().get(), 3);
    db.close();
  });

  it('reads a real table whose name holds quotes and spaces', async () => {
    const path = database((db) => {
      db.exec('CREATE TABLE "odd ""name""; --" (id INTEGER PRIMARY KEY, text TEXT)');
      db.exec('INSERT INTO "odd ""name""; --" VALUES (1, \'one\'), (2, \'two\')');
    });
    const items = await withSource({ path, table: 'odd "name"; --' }, readAll);
    assert.deepEqual(
      items.map((item) => item.key),
      ['1', '2'],
    );
  });

  it('names source.key and lists the columns when the key column is not selected', async () => {
    const path = database(makeTable);
    await assert.rejects(
      openSqliteSource(spec({ path, query: 'SELECT text FROM t', key: 'id' })),
      /source\.key: column "id" is not among the source's columns: "text"/,
    );
    await assert.rejects(openSqliteSource(spec({ path, table: 't', key: 'ID' })), /column "ID" .*did you mean "id"\?.*"id", "text"/);
  });

  it('names the path of a missing database file and of a file that is not a database', async () => {
    const missing = join(dir, 'nowhere.db');
    await assert.rejects(openSqliteSource(spec({ path: missing, table: 't' })), (error: unknown) => {
      assert.ok(error instanceof SourceError);
      assert.ok(error.message.includes(missing), error.message);
      return true;
    });
    const notDb = join(dir, 'not-a-db.db');
    writeFileSync(notDb, 'just some text, long enough to look like a header of something else entirely'.repeat(20));
    await assert.rejects(openSqliteSource(spec({ path: notDb, table: 't' })), /cannot read .*not-a-db\.db as a SQLite database/);
  });

  it('refuses a BLOB key column, which could not be compared again on the next page', async () => {
    const path = database((db) => {
      db.exec('CREATE TABLE b (k BLOB, text TEXT)');
      db.prepare('INSERT INTO b VALUES (?, ?)').run(Buffer.from([1, 2]), 'x');
    });
    await withSource({ path, table: 'b', key: 'k' }, async (source) => {
      await assert.rejects(readAll(source), /column "k" holds BLOB values/);
    });
  });
});

describe('sqlite source: count, sample, fields, signal, close', () => {
  const path = database((db) => {
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, text TEXT, note BLOB)');
    const insert = db.prepare('INSERT INTO t VALUES (?, ?, ?)');
    for (let id = 1; id <= 50; id += 1) insert.run(id, `text ${id}`, Buffer.from(`nöte ${id}`, 'utf8'));
  });

  it('counts exactly what the query selects', async () => {
    assert.deepEqual(await withSource({ path, table: 't' }, (source) => source.count()), { total: 50, exact: true });
    assert.deepEqual(
      await withSource({ path, query: 'SELECT * FROM t WHERE id % 5 = 0' }, (source) => source.count()),
      { total: 10, exact: true },
    );
  });

  it('samples distinct real records, and not always the same ones', async () => {
    await withSource({ path, table: 't' }, async (source) => {
      const sample = source.sample?.bind(source);
      assert.ok(sample, 'a SQLite source can sample');
      const draws = new Set<string>();
      for (let draw = 0; draw < 20; draw += 1) {
        const keys: string[] = [];
        for await (const record of sample(4)) {
          assert.equal(record.fields.text, `text ${record.key}`);
          keys.push(record.key);
        }
        assert.equal(new Set(keys).size, 4);
        draws.add(keys.sort().join(','));
      }
      assert.ok(draws.size > 1, 'twenty samples of 4 out of 50 were all the same');
      let all = 0;
      for await (const _record of sample(500)) all += 1;
      assert.equal(all, 50);
    });
  });

  it('hands BLOB columns over as bytes that the template renders as UTF-8 text', async () => {
    const items = await withSource({ path, query: 'SELECT id, note FROM t WHERE id = 7' }, readAll);
    const item = items[0];
    assert.ok(item?.kind === 'record');
    assert.ok(item.fields.note instanceof Uint8Array);
    assert.equal(compileTemplate('{{note}}').render(item.fields, 'record 7'), 'nöte 7');
  });

  it('stops reading when the signal is aborted', async () => {
    await withSource({ path, table: 't', pageSize: 5 }, async (source) => {
      const controller = new AbortController();
      const seen: string[] = [];
      await assert.rejects(async () => {
        for await (const item of source.read({ signal: controller.signal })) {
          seen.push(item.key);
          if (seen.length === 7) controller.abort(new Error('stopped by the test'));
        }
      }, /stopped by the test/);
      assert.ok(seen.length < 50);
    });
  });

  it('refuses to read once closed', async () => {
    const source = await openSqliteSource(spec({ path, table: 't' }));
    await source.close();
    await assert.rejects(source.count(), SourceError);
    assert.throws(() => source.read(), /closed/);
  });
});
