import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { openFileSource } from '../../daemon/sources/fileSource';
import { readJsonl } from '../../daemon/sources/jsonlReader';
import type { MalformedRecord, RecordSource, SourceItem, SourceRecord } from '../../daemon/sources/source';
import { SourceError } from '../../daemon/sources/source';
import { fileSourceSchema } from '../../daemon/spec/jobSpec';

const dir = mkdtempSync(join(tmpdir(), 'drover-file-source-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(extension: string, content: string | Buffer): string {
  files += 1;
  const path = join(dir, `input-${files}${extension}`);
  writeFileSync(path, content);
  return path;
}

const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))));
const bom = [0xef, 0xbb, 0xbf];
const invalidUtf8 = [0xc3, 0x28]; // a lead byte followed by a byte that cannot continue it

async function open(path: string, options: Record<string, unknown> = {}): Promise<RecordSource> {
  return openFileSource(fileSourceSchema.parse({ type: 'file', path, ...options }));
}

async function readAll(source: RecordSource, after?: SourceItem['cursor']): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  for await (const item of source.read(after === undefined ? {} : { after })) items.push(item);
  return items;
}

const records = (items: SourceItem[]) => items.filter((item): item is SourceRecord => item.kind === 'record');
const malformed = (items: SourceItem[]) => items.filter((item): item is MalformedRecord => item.kind === 'malformed');

/** The invariants every read must keep: ordinals 1…n in order, unique keys, count agrees. */
async function readChecked(source: RecordSource): Promise<SourceItem[]> {
  const items = await readAll(source);
  assert.deepEqual(
    items.map((item) => item.ordinal),
    items.map((_item, index) => index + 1),
  );
  assert.deepEqual(
    items.map((item) => item.cursor.ordinal),
    items.map((item) => item.ordinal),
  );
  assert.equal(new Set(items.map((item) => item.key)).size, items.length, 'ledger keys are unique');
  assert.deepEqual(await source.count(), { total: items.length, exact: true });
  return items;
}

/** Resuming after each item in turn gives exactly the items after it. */
async function assertResumesEverywhere(source: RecordSource, all: SourceItem[]): Promise<void> {
  for (let cut = 1; cut <= all.length; cut += 1) {
    const cursor = JSON.parse(JSON.stringify(all[cut - 1]?.cursor)) as SourceItem['cursor'];
    const rest = await readAll(source, cursor);
    assert.deepEqual(rest, all.slice(cut), `resume after ordinal ${cut}`);
  }
}

function openDescriptorsTo(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(join('/proc/self/fd', fd)) === path;
    } catch {
      return false;
    }
  }).length;
}

/** Closing a stream's file happens just after the stream is destroyed. */
async function assertFileClosed(path: string): Promise<void> {
  for (let attempt = 0; attempt < 100 && openDescriptorsTo(path) > 0; attempt += 1) await sleep(20);
  assert.equal(openDescriptorsTo(path), 0, `${path} is still open`);
}

describe('file source: JSON Lines', () => {
  it('reads objects line by line; the key is the line number, blank lines are skipped but counted', async () => {
    const path = file('.jsonl', bytes(bom, '{"text":"first"}\r\n\n   \n{"text":"second","n":2}\r\n{"text":"third"}'));
    const source = await open(path);
    const items = await readChecked(source);
    assert.deepEqual(
      items.map((item) => [item.kind, item.key, item.line, item.cursor.key]),
      [
        ['record', '1', 1, 1],
        ['record', '4', 4, 4],
        ['record', '5', 5, 5],
      ],
    );
    assert.deepEqual(records(items)[1]?.fields, { text: 'second', n: 2 });
    await assertResumesEverywhere(source, items);
  });

  it('takes the key from a named field, string or number', async () => {
    const path = file('.ndjson', '{"id":"a-1","text":"x"}\n{"id":7,"text":"y"}\n');
    const items = await readChecked(await open(path, { key: 'id' }));
    assert.deepEqual(
      items.map((item) => [item.key, item.cursor.key]),
      [
        ['a-1', 'a-1'],
        ['7', 7],
      ],
    );
  });

  it('turns bad lines into failed items naming the line, and reads every other line', async () => {
    const path = file(
      '.jsonl',
      bytes(
        '{"id":1,"text":"ok"}\n',
        '{"id":2,"text":\n',
        '[1,2,3]\n',
        '"just a string"\n',
        '{"id":5,"text":"caf', invalidUtf8, '"}\n',
        '{"id":6,"text":"a', [0x00], 'b"}\n',
        '{"id":7,"text":"still fine"}\n',
      ),
    );
    const items = await readChecked(await open(path));
    assert.deepEqual(
      records(items).map((item) => item.fields.id),
      [1, 7],
    );
    const reasons = malformed(items).map((item) => [item.key, item.line, item.reason]);
    assert.equal(reasons.length, 5);
    assert.deepEqual(reasons[0]?.slice(0, 2), ['line:2', 2]);
    assert.match(String(reasons[0]?.[2]), /^line 2: not valid JSON/);
    assert.match(String(reasons[1]?.[2]), /^line 3: expected a JSON object, got an array$/);
    assert.match(String(reasons[2]?.[2]), /^line 4: expected a JSON object, got a string$/);
    assert.equal(reasons[3]?.[2], 'line 5: not valid UTF-8');
    assert.match(String(reasons[4]?.[2]), /^line 6: not valid JSON/);
  });

  it('fails records whose key field is missing, null, empty or not a string or number', async () => {
    const path = file('.jsonl', '{"id":1}\n{"text":"no id","lang":"en"}\n{"id":null}\n{"id":""}\n{"id":{"a":1}}\n{"id":2}\n');
    const items = await readChecked(await open(path, { key: 'id' }));
    assert.deepEqual(
      records(items).map((item) => item.key),
      ['1', '2'],
    );
    assert.deepEqual(
      malformed(items).map((item) => item.reason),
      [
        'line 2: key field "id" (source.key) is missing (it has "text", "lang")',
        'line 3: key field "id" (source.key) is null',
        'line 4: key field "id" is empty',
        'line 5: key field "id" must be a string or a number, not an object',
      ],
    );
    assert.deepEqual(
      malformed(items).map((item) => item.key),
      ['line:2', 'line:3', 'line:4', 'line:5'],
    );
  });

  it('reads a single 20 MB record whole', async () => {
    const text = 'ß'.repeat(10 * 1024 * 1024); // 20 MB of UTF-8
    const path = file('.jsonl', `{"id":1,"text":"${text}"}\n{"id":2,"text":"after"}\n`);
    const items = await readChecked(await open(path));
    const [big, next] = records(items);
    assert.equal(big?.fields.text, text);
    assert.equal(next?.fields.text, 'after');
  });

  it('reports a line longer than the limit without holding it, and goes on', async () => {
    const path = file('.jsonl', `{"a":1}\n{"text":"${'x'.repeat(5000)}"}\n{"a":3}\n`);
    const entries = [];
    for await (const entry of readJsonl(path, { skip: 0 }, 1000)) entries.push(entry);
    assert.deepEqual(
      entries.map((entry) => (entry.kind === 'problem' ? entry.reason : entry.fields)),
      [{ a: 1 }, 'line 2: longer than 1000 bytes, too large for one record', { a: 3 }],
    );
  });

  it('reads an empty file and a blank file as zero records', async () => {
    for (const content of ['', '\n\n  \r\n', bytes(bom)]) {
      const items = await readChecked(await open(file('.jsonl', content)));
      assert.deepEqual(items, []);
    }
  });
});

describe('file source: JSON arrays', () => {
  it('streams the elements; the key is the element number or a named field', async () => {
    const path = file('.json', bytes(bom, '[\n  {"id": "b", "text": "one"},\n  {"id": "a", "text": "two", "tags": ["x"]}\n]\n'));
    const byIndex = await readChecked(await open(path));
    assert.deepEqual(
      byIndex.map((item) => [item.key, item.cursor.key]),
      [
        ['1', 1],
        ['2', 2],
      ],
    );
    assert.deepEqual(records(byIndex)[1]?.fields, { id: 'a', text: 'two', tags: ['x'] });
    const source = await open(path, { key: 'id' });
    const byField = await readChecked(source);
    assert.deepEqual(
      byField.map((item) => item.key),
      ['b', 'a'],
    );
    await assertResumesEverywhere(source, byField);
  });

  it('fails an element that is not an object and reads the others', async () => {
    const items = await readChecked(await open(file('.json', '[{"a":1}, 2, "three", null, [4], {"a":5}]')));
    assert.deepEqual(
      items.map((item) => (item.kind === 'record' ? item.fields : [item.key, item.reason])),
      [
        { a: 1 },
        ['element:2', 'element 2: expected a JSON object, got a number'],
        ['element:3', 'element 3: expected a JSON object, got a string'],
        ['element:4', 'element 4: expected a JSON object, got null'],
        ['element:5', 'element 5: expected a JSON object, got an array'],
        { a: 5 },
      ],
    );
  });

  it('keeps the elements before a syntax error and fails the rest with one item saying where', async () => {
    const lines = ['[', ...Array.from({ length: 30 }, (_v, index) => `  {"n": ${index + 1}},`), '  {"n": 31} {"n": 32},', '  {"n": 33}', ']'];
    const errorLine = 32; // `{"n": 31} {"n": 32}` misses a comma
    const source = await open(file('.json', lines.join('\n')));
    const items = await readChecked(source);
    assert.deepEqual(
      records(items).map((item) => item.fields.n),
      Array.from({ length: 31 }, (_v, index) => index + 1),
    );
    const [failure, ...others] = malformed(items);
    assert.equal(others.length, 0);
    assert.equal(failure?.key, 'element:32');
    assert.equal(failure?.ordinal, 32);
    assert.match(failure?.reason ?? '', new RegExp(`^element 32 and all after it could not be read: a JSON syntax error on or shortly before line ${errorLine} `));
    assert.match(failure?.reason ?? '', /The 31 elements before it were read\.$/);
    await assertResumesEverywhere(source, items);
  });

  it('says so when the file ends inside the array, or is not an array at all', async () => {
    const truncated = await readChecked(await open(file('.json', '[{"a":1},{"a":2},{"a":')));
    assert.equal(records(truncated).length, 2);
    assert.match(malformed(truncated)[0]?.reason ?? '', /^element 3 and all after it could not be read: the file ends inside the JSON/);
    const object = await readChecked(await open(file('.json', '{"a":1}')));
    assert.deepEqual(
      object.map((item) => (item.kind === 'malformed' ? item.reason : item.kind)),
      ['element 1 and all after it could not be read: the top-level JSON value is not an array. No element could be read.'],
    );
  });

  it('stops at invalid UTF-8 instead of passing on replacement characters', async () => {
    const path = file('.json', bytes('[\n{"t":"fine"},\n{"t":"caf', invalidUtf8, '"},\n{"t":"never read"}\n]'));
    const items = await readChecked(await open(path));
    assert.deepEqual(
      records(items).map((item) => item.fields.t),
      ['fine'],
    );
    assert.match(malformed(items)[0]?.reason ?? '', /^element 2 and all after it could not be read: invalid UTF-8 on or shortly before line 3 /);
  });

  it('reads an empty or blank file as zero records', async () => {
    for (const content of ['', ' \n\t\n', '[]']) {
      assert.deepEqual(await readChecked(await open(file('.json', content))), []);
    }
  });
});

describe('file source: CSV', () => {
  it('reads rows by the header, with quoted fields over several lines; the key is the row number', async () => {
    const path = file('.csv', bytes(bom, 'id,text,lang\r\n1,plain,en\r\n\r\n2,"two\r\nlines, and a ""quote""",de\r\n3,"",fr\r\n'));
    const source = await open(path);
    const items = await readChecked(source);
    assert.deepEqual(
      items.map((item) => [item.key, item.line, item.kind === 'record' ? item.fields : null]),
      [
        ['1', 2, { id: '1', text: 'plain', lang: 'en' }],
        ['2', 4, { id: '2', text: 'two\r\nlines, and a "quote"', lang: 'de' }],
        ['3', 6, { id: '3', text: '', lang: 'fr' }],
      ],
    );
    await assertResumesEverywhere(source, items);
  });

  it('takes the key from a named column and honours the delimiter', async () => {
    const path = file('.csv', 'sku;name\nA-9;tea\nB-1;coffee\n;water\n');
    const items = await readChecked(await open(path, { key: 'sku', delimiter: ';' }));
    assert.deepEqual(
      records(items).map((item) => [item.key, item.fields.name]),
      [
        ['A-9', 'tea'],
        ['B-1', 'coffee'],
      ],
    );
    assert.deepEqual(
      malformed(items).map((item) => item.reason),
      ['line 4: key field "sku" is empty'],
    );
  });

  it('fails ragged rows, invalid UTF-8 and NUL bytes by line, and reads the rows around them', async () => {
    const path = file(
      '.csv',
      bytes(
        'id,text,lang,score\n',
        '1,good,en,5\n',
        '2,short,en\n',
        '3,long,en,4,extra\n',
        '4,caf', invalidUtf8, ',fr,3\n',
        '5,a', [0x00], 'b,en,1\n',
        '6,fine again,en,2\n',
      ),
    );
    const items = await readChecked(await open(path));
    assert.deepEqual(
      records(items).map((item) => item.fields.id),
      ['1', '6'],
    );
    assert.deepEqual(
      malformed(items).map((item) => [item.key, item.reason]),
      [
        ['line:3', 'line 3: 3 fields, the header has 4'],
        ['line:4', 'line 4: 5 fields, the header has 4'],
        ['line:5', 'line 5: column "text" is not valid UTF-8'],
        ['line:6', 'line 6: column "text" contains a NUL byte (is the file binary, or UTF-16 without a byte order mark?)'],
      ],
    );
  });

  it('fails an unclosed quote with the line it starts on', async () => {
    const items = await readChecked(await open(file('.csv', 'id,text\n1,ok\n2,"never closed\n3,lost\n')));
    assert.deepEqual(
      records(items).map((item) => item.fields.id),
      ['1'],
    );
    assert.match(malformed(items)[0]?.reason ?? '', /^line \d+: Quote Not Closed/);
  });

  it('reads a UTF-16LE file that has a byte order mark', async () => {
    const path = file('.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('id,text\n1,日本語\n', 'utf16le')]));
    const items = await readChecked(await open(path));
    assert.deepEqual(records(items)[0]?.fields, { id: '1', text: '日本語' });
  });

  it('refuses a header that names a column twice', async () => {
    const source = await open(file('.csv', 'id,text,id\n1,a,2\n'));
    await assert.rejects(readAll(source), /column "id" appears twice in the header row/);
  });

  it('reads an empty file and a header-only file as zero records', async () => {
    for (const content of ['', 'id,text\n', bytes(bom)]) {
      assert.deepEqual(await readChecked(await open(file('.csv', content))), []);
    }
  });
});

describe('file source: opening, aborting, closing', () => {
  it('names the accepted formats for an unknown extension, and lets source.format decide', async () => {
    const path = file('.txt', '{"a":1}\n');
    await assert.rejects(open(path), (error: unknown) => {
      assert.ok(error instanceof SourceError);
      assert.match(error.message, /\.jsonl, \.ndjson, \.json .*\.csv .*source\.format/);
      return true;
    });
    const items = await readChecked(await open(path, { format: 'jsonl' }));
    assert.deepEqual(records(items)[0]?.fields, { a: 1 });
  });

  it('names the path of a missing file, and refuses a directory', async () => {
    const missing = join(dir, 'missing.jsonl');
    await assert.rejects(open(missing), new RegExp(`${missing.replaceAll('.', '\\.')} does not exist`));
    const folder = join(dir, 'folder.jsonl');
    mkdirSync(folder);
    await assert.rejects(open(folder), /is not a file/);
  });

  for (const [extension, content] of [
    ['.jsonl', Array.from({ length: 20_000 }, (_v, index) => `{"n":${index}}`).join('\n')],
    ['.json', `[${Array.from({ length: 20_000 }, (_v, index) => `{"n":${index}}`).join(',\n')}]`],
    ['.csv', `n\n${Array.from({ length: 20_000 }, (_v, index) => String(index)).join('\n')}\n`],
  ] as const) {
    it(`${extension}: stops reading and closes the file when the signal is aborted or the reader stops early`, async () => {
      const path = file(extension, content);
      const source = await open(path);
      const controller = new AbortController();
      let seen = 0;
      await assert.rejects(async () => {
        for await (const _item of source.read({ signal: controller.signal })) {
          seen += 1;
          if (seen === 10) controller.abort(new Error('stopped by the test'));
        }
      }, /stopped by the test/);
      assert.equal(seen, 10);
      await assertFileClosed(path);

      for await (const _item of source.read()) break;
      await assertFileClosed(path);
    });
  }

  it('close() ends a read in progress and refuses new ones', async () => {
    const path = file('.jsonl', Array.from({ length: 20_000 }, (_v, index) => `{"n":${index}}`).join('\n'));
    const source = await open(path);
    let seen = 0;
    await assert.rejects(async () => {
      for await (const _item of source.read()) {
        seen += 1;
        if (seen === 5) await source.close();
      }
    }, /was closed/);
    assert.equal(seen, 5);
    await assertFileClosed(path);
    await assert.rejects(readAll(source), /closed/);
    await assert.rejects(source.count(), /closed/);
  });
});
