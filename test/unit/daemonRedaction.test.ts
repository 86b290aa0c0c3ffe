import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { DaemonLog } from '../../daemon/server/daemonLog';
import { Redactor } from '../../daemon/server/redactor';

describe('redaction', () => {
  it('hides every held key, Bearer credentials and sk- keys', () => {
    const redactor = new Redactor();
    redactor.hold('my-local-key-0123');
    redactor.hold('abc'); // too short to match verbatim safely
    const text = 'key my-local-key-0123 then Authorization: Bearer eyJhbGciOi.x.y and sk-proj-AbCdEf123456 and abc';
    const redacted = redactor.redact(text);
    assert.doesNotMatch(redacted, /my-local-key-0123|eyJhbGciOi|AbCdEf123456/);
    assert.match(redacted, /Bearer \[redacted\]/);
    assert.match(redacted, /sk-\[redacted\]/);
    assert.match(redacted, /and abc$/);
    assert.equal(redactor.redact(redacted), redacted, 'redacting twice changes nothing');
  });

  it('redacts strings inside objects and arrays', () => {
    const redactor = new Redactor();
    redactor.hold('secret-value-99');
    assert.deepEqual(redactor.redactDeep({ a: ['x secret-value-99'], b: { c: 'secret-value-99' }, n: 3 }), {
      a: ['x [redacted]'],
      b: { c: '[redacted]' },
      n: 3,
    });
  });
});

describe('the daemon log', () => {
  it('writes redacted JSON lines to the file and human lines to stderr, and rotates by size', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drover-log-'));
    try {
      const redactor = new Redactor();
      redactor.hold('held-key-abcdef');
      let human = '';
      const stderr = new Writable({
        write(chunk: Buffer, _encoding, done) {
          human += chunk.toString();
          done();
        },
      });
      const file = join(dir, 'logs', 'daemon.log');
      const log = new DaemonLog({ file, redactor, stderr, maxBytes: 2000, keep: 2 });
      log.info('the key is held-key-abcdef', { header: 'Bearer held-key-abcdef', job: 'j1' });
      const first = JSON.parse((await readFile(file, 'utf8')).trim()) as Record<string, unknown>;
      assert.equal(first.level, 'info');
      assert.equal(first.job, 'j1');
      assert.equal(first.msg, 'the key is [redacted]');
      assert.equal(first.header, 'Bearer [redacted]');
      assert.match(human, /info {2}the key is \[redacted\]/);
      assert.doesNotMatch(human, /held-key-abcdef/);

      for (let i = 0; i < 100; i += 1) log.warn(`line ${i} ${'x'.repeat(50)}`);
      const files = (await readdir(join(dir, 'logs'))).sort();
      assert.deepEqual(files, ['daemon.log', 'daemon.log.1', 'daemon.log.2'], 'two generations kept, older ones dropped');
      for (const name of files) {
        const text = await readFile(join(dir, 'logs', name), 'utf8');
        assert.ok(Buffer.byteLength(text) <= 2000, `${name} stays under the limit`);
        for (const line of text.trim().split('\n')) JSON.parse(line);
      }
      assert.match(await readFile(file, 'utf8'), /line 99 /, 'the newest line is in the current file');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
