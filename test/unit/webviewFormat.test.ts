import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatAxisNumber,
  formatClock,
  formatCompact,
  formatCount,
  formatDuration,
  formatPercent,
  formatRate,
  formatUsd,
  outputText,
  shortText,
  valueText,
} from '../../webview/shared/format';

describe('webview formatting', () => {
  it('groups counts and keeps them exact below 10,000, compact above', () => {
    assert.equal(formatCount(5_000_000), '5,000,000');
    assert.equal(formatCompact(9_999), '9,999');
    assert.equal(formatCompact(412_000), '412K');
    assert.equal(formatCompact(1_250_000), '1.3M');
  });

  it('keeps a decimal on slow rates so they do not read as zero', () => {
    assert.equal(formatRate(0.4), '0.4/s');
    assert.equal(formatRate(0), '0/s');
    assert.equal(formatRate(1230.4), '1,230/s');
  });

  it('shows cents, and two significant digits below a cent', () => {
    assert.equal(formatUsd(12.4), '$12.40');
    assert.equal(formatUsd(0), '$0.00');
    assert.equal(formatUsd(0.0042), '$0.0042');
    assert.equal(formatUsd(0.000123456), '$0.00012');
    assert.equal(formatUsd(1234.5), '$1,234.50');
    assert.equal(formatUsd(null), '—');
  });

  it('writes durations with their two largest units', () => {
    assert.equal(formatDuration(0.2), '<1s');
    assert.equal(formatDuration(45), '45s');
    assert.equal(formatDuration(200), '3m 20s');
    assert.equal(formatDuration(2 * 3600 + 5 * 60 + 9), '2h 05m');
    assert.equal(formatDuration(3 * 86_400 + 4 * 3600), '3d 4h');
    assert.equal(formatDuration(null), '—');
    assert.equal(formatDuration(Number.POSITIVE_INFINITY), '—');
  });

  it('writes axis ticks as a clock and as plain numbers', () => {
    assert.equal(formatClock(45), '0:45');
    assert.equal(formatClock(12 * 60 + 5), '12:05');
    assert.equal(formatClock(3723), '1:02:03');
    assert.equal(formatAxisNumber(0.25), '0.25');
    assert.equal(formatAxisNumber(2500), '2,500');
    assert.equal(formatAxisNumber(25_000), '25K');
  });

  it('rounds percentages down, so a job is not 100 % while records are left', () => {
    assert.equal(formatPercent(9996, 10_000), '99.9%');
    assert.equal(formatPercent(10_000, 10_000), '100.0%');
    assert.equal(formatPercent(870, 1000), '87.0%');
    assert.equal(formatPercent(5, null), null);
    assert.equal(formatPercent(5, 0), null);
  });

  it('writes values and answers as one line of text', () => {
    assert.equal(valueText('plain'), 'plain');
    assert.equal(valueText(3), '3');
    assert.equal(valueText(null), 'null');
    assert.equal(valueText({ a: [1, true] }), '{"a":[1,true]}');
    assert.equal(valueText(undefined), '');
    assert.equal(outputText({ sentiment: 'positive', confidence: 0.93 }), 'sentiment: positive · confidence: 0.93');
  });

  it('cuts long text with an ellipsis, folds lines, and never splits a surrogate pair', () => {
    assert.deepEqual(shortText('short', 10), { text: 'short', truncated: false });
    assert.deepEqual(shortText('one\ntwo', 10), { text: 'one two', truncated: true });
    assert.deepEqual(shortText('abcdefghijkl', 6), { text: 'abcde…', truncated: true });
    const cut = shortText('abcd😀xyz', 6);
    assert.equal(cut.text, 'abcd…');
    assert.ok(cut.truncated);
  });
});
