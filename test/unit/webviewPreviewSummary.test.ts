import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PreviewRecord } from '../../daemon/protocol/estimate';
import { fieldColumns, runnableKeys, runnableText, shownTotals, wholeSelectionText } from '../../webview/preview/previewSummary';

const ok = (key: string, fields: Record<string, unknown>, tokens: number, cost: number | null): PreviewRecord => ({
  key,
  line: null,
  fields,
  input: `input ${key}`,
  error: null,
  inputTokens: tokens,
  estimatedCostUsd: cost,
});
const broken = (key: string): PreviewRecord => ({ key, line: 4, fields: {}, input: null, error: 'bad', inputTokens: 0, estimatedCostUsd: null });

describe('preview summary', () => {
  it('lists the fields in first-seen order, up to a limit', () => {
    const records = [ok('1', { id: 1, text: 'a' }, 1, 0), ok('2', { id: 2, lang: 'en' }, 1, 0)];
    assert.deepEqual(fieldColumns(records), ['id', 'text', 'lang']);
    assert.deepEqual(fieldColumns(records, 2), ['id', 'text']);
  });

  it('runs only records that rendered, each key once', () => {
    assert.deepEqual(runnableKeys([ok('1', {}, 1, 0), broken('line 4'), ok('2', {}, 1, 0), ok('1', {}, 1, 0)]), ['1', '2']);
  });

  it('adds up tokens and the known costs of the shown records', () => {
    assert.deepEqual(shownTotals([ok('1', {}, 100, 0.25), ok('2', {}, 50, null), broken('x')]), { records: 3, runnable: 2, inputTokens: 150, estimatedCostUsd: 0.25 });
    assert.equal(shownTotals([ok('1', {}, 100, null)]).estimatedCostUsd, null);
  });

  it('says how many can run and why the others cannot', () => {
    assert.equal(runnableText({ records: 5, runnable: 4, inputTokens: 0, estimatedCostUsd: null }), '4 of 5 records can run (1 has an error).');
    assert.equal(runnableText({ records: 5, runnable: 3, inputTokens: 0, estimatedCostUsd: null }), '3 of 5 records can run (2 have errors).');
    assert.equal(runnableText({ records: 2, runnable: 2, inputTokens: 0, estimatedCostUsd: null }), '2 records can run.');
    assert.equal(runnableText({ records: 0, runnable: 0, inputTokens: 0, estimatedCostUsd: null }), 'No records to run.');
  });

  it('sums up the whole selection only when it says more than the table', () => {
    assert.equal(wholeSelectionText({ records: 1200, inputTokens: 72_000, estimatedCostUsd: 0.0288 }, 10), 'Whole selection: 1,200 records · ~72,000 input tokens · ~$0.03');
    assert.equal(wholeSelectionText({ records: 10, inputTokens: null, estimatedCostUsd: null }, 10), null);
    assert.equal(wholeSelectionText({ records: null, inputTokens: null, estimatedCostUsd: null }, 10), null);
  });
});
