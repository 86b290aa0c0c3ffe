import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBatchAnswer } from '../../daemon/pipeline/answerParser';
import { backoffMs } from '../../daemon/pipeline/backoff';
import { compileOutputSchema, isStrictCompatible } from '../../daemon/pipeline/outputSchema';
import { Packer } from '../../daemon/pipeline/packer';
import { apportion } from '../../daemon/pipeline/usageShares';
import { Watermark } from '../../daemon/pipeline/watermark';
import { defaultOutputSchema } from '../../daemon/spec/jobSpec';

const validator = compileOutputSchema(defaultOutputSchema);

describe('answer parsing', () => {
  it('matches answers by id, not by position', () => {
    const content = JSON.stringify({ results: [{ id: 'b', sentiment: 'negative', score: 10 }, { id: 'a', sentiment: 'positive', score: 90 }] });
    const verdict = parseBatchAnswer(content, ['a', 'b'], validator);
    assert.ok(verdict.ok);
    assert.deepEqual(verdict.records.map((record) => record.ok && record.output.sentiment), ['positive', 'negative']);
  });

  it('flags missing, invalid and contradictory items per record, and accepts a bare array in a fence', () => {
    const content = '```json\n[{"id":1,"sentiment":"positive","score":70},{"id":"2","sentiment":"great","score":70},{"id":"3","sentiment":"neutral","score":50},{"id":"3","sentiment":"negative","score":5}]\n```';
    const verdict = parseBatchAnswer(content, ['1', '2', '3', '4'], validator);
    assert.ok(verdict.ok);
    const classes = verdict.records.map((record) => (record.ok ? 'ok' : record.errorClass));
    assert.deepEqual(classes, ['ok', 'invalid_output', 'duplicate_answer', 'missing_answer']);
    const invalid = verdict.records[1];
    assert.ok(invalid && !invalid.ok && /sentiment/.test(invalid.reason));
  });

  it('says why an answer that is not JSON was refused', () => {
    const verdict = parseBatchAnswer('{"results": [', ['1'], validator);
    assert.equal(verdict.ok, false);
    assert.ok(!verdict.ok && verdict.errorClass === 'invalid_json');
  });
});

describe('packing', () => {
  const item = (key: string, tokens: number) => ({ wire: { key, json: '', tokens } });

  it('closes a batch at the record count or before the token budget would be passed', () => {
    const packer = new Packer({ recordsPerRequest: 3, maxPromptTokens: 100, overheadTokens: 10 });
    assert.deepEqual(packer.add(item('a', 30)), []);
    assert.deepEqual(packer.add(item('b', 30)), []);
    const closed = packer.add(item('c', 40)); // 10 + 30 + 30 + 40 > 100
    assert.deepEqual(closed.map((batch) => batch.map((entry) => entry.wire.key)), [['a', 'b']]);
    assert.deepEqual(packer.add(item('d', 1)).map((batch) => batch.length), []);
    assert.deepEqual(packer.add(item('e', 1)).map((batch) => batch.map((entry) => entry.wire.key)), [['c', 'd', 'e']]);
    assert.equal(packer.flush(), undefined);
  });

  it('never holds more than recordsPerRequest, even at one per request', () => {
    const packer = new Packer({ recordsPerRequest: 1, maxPromptTokens: 100, overheadTokens: 10 });
    for (const key of ['a', 'b', 'c']) assert.deepEqual(packer.add(item(key, 5)).map((batch) => batch.length), [1]);
  });
});

describe('small parts', () => {
  it('apportions usage exactly', () => {
    const shares = apportion(101, [1, 1, 1]);
    assert.equal(shares.reduce((a, b) => a + b, 0), 101);
    assert.deepEqual(apportion(10, [3, 1]), [8, 2]);
    assert.deepEqual(apportion(0, [1, 2]), [0, 0]);
  });

  it('backs off with full jitter, bounded, at least the hint', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(backoffMs(policy, 1, 0, () => 0.999), 99);
    assert.equal(backoffMs(policy, 10, 0, () => 0.999), 999);
    assert.equal(backoffMs(policy, 3, 5000, () => 0.5), 5000);
  });

  it('moves the watermark only over records with no unfinished one before them', () => {
    const watermark = new Watermark(null);
    const cursors = [1, 2, 3, 4].map((ordinal) => ({ ordinal, key: ordinal }));
    const sequences = cursors.map((cursor) => watermark.add(cursor));
    watermark.finish(sequences[1]);
    assert.equal(watermark.cursor, null);
    watermark.finish(sequences[0]);
    assert.deepEqual(watermark.cursor, cursors[1]);
    watermark.finish(sequences[3]);
    assert.deepEqual(watermark.cursor, cursors[1]);
    watermark.finish(sequences[2]);
    assert.deepEqual(watermark.cursor, cursors[3]);
  });

  it('knows which schemas strict structured outputs accept', () => {
    assert.equal(isStrictCompatible(defaultOutputSchema), true);
    assert.equal(isStrictCompatible({ type: 'object', properties: { a: { type: 'string' } } }), false);
  });
});
