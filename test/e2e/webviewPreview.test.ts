// The record preview's real bundle in Chromium, under the CSP the extension serves it with:
// the test plays the extension for a JSON and a CSV selection (records, a parse error, a run
// on these records with answers arriving in batches, a template change) and checks what a
// user sees and what the webview posts back. Needs the build (`node esbuild.mjs`).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { PreviewRecord } from '../../daemon/protocol/estimate';
import { extensionToPreviewSchema, type PreviewContent } from '../../webview/protocol/previewMessages';
import { startWebviewHarness, type WebviewHarness, type WebviewPage } from '../support/webviewHarness';

const model = 'gpt-4.1-mini';
const pricePerToken = 0.4 / 1e6;

function record(key: string, line: number, fields: Record<string, unknown>, input: string): PreviewRecord {
  const inputTokens = 20 + input.length;
  return { key, line, fields, input, error: null, inputTokens, estimatedCostUsd: inputTokens * pricePerToken };
}

function malformed(line: number, reason: string): PreviewRecord {
  return { key: `line ${line}`, line, fields: {}, input: null, error: reason, inputTokens: 0, estimatedCostUsd: null };
}

const render = (template: string, fields: Record<string, unknown>) => template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => String(fields[name]));

function preview(source: string, template: string, rows: { key: string; line: number; fields: Record<string, unknown> }[], broken: PreviewRecord[], wholeRecords: number): PreviewContent {
  const records = rows.map((row) => record(row.key, row.line, row.fields, render(template, row.fields)));
  for (const bad of broken) records.splice(records.findIndex((item) => (item.line ?? 0) > (bad.line ?? 0)), 0, bad);
  return {
    type: 'preview',
    source,
    model,
    system: 'Classify the sentiment of each review as positive, negative or mixed.',
    template,
    records,
    totals: { records: wholeRecords, inputTokens: wholeRecords * 60, estimatedCostUsd: wholeRecords * 60 * pricePerToken },
  };
}

const longReview = 'The tea arrived late, the box was crushed, and the leaves smelled of cardboard; the seller refunded half without being asked, which I did appreciate.';

const jsonRows = [
  { key: '1', line: 2, fields: { id: 1, text: 'Lovely oolong, would buy again', rating: 5 } },
  { key: '2', line: 3, fields: { id: 2, text: longReview, rating: 2 } },
  { key: '3', line: 4, fields: { id: 3, text: 'Fine.', rating: 3 } },
  { key: '5', line: 6, fields: { id: 5, text: 'Too bitter for me', rating: 2 } },
];

const csvRows = [
  { key: 'a-100', line: 2, fields: { sku: 'a-100', review: 'Crisp and floral', stars: '5' } },
  { key: 'a-101', line: 3, fields: { sku: 'a-101', review: 'Smoky.\nReally smoky.\nToo smoky', stars: '2' } },
  { key: 'a-102', line: 4, fields: { sku: 'a-102', review: 'Grassy, a bit thin', stars: '3' } },
  { key: 'a-104', line: 6, fields: { sku: 'a-104', review: 'Perfect with milk', stars: '4' } },
  { key: 'a-105', line: 7, fields: { sku: 'a-105', review: 'Stale', stars: '1' } },
];

async function send(view: WebviewPage, message: unknown): Promise<void> {
  await view.send(extensionToPreviewSchema.parse(message));
}

const visibleHeaders = (page: Page) => page.locator('.records-table thead th:visible').allTextContents();
const usd = (value: number) => `$${Number(value.toPrecision(2)).toString()}`;

describe('the record preview webview in Chromium', () => {
  let harness: WebviewHarness;

  before(async () => {
    harness = await startWebviewHarness();
  });

  after(async () => {
    await harness?.close();
  });

  it('previews a JSON selection with a parse error, runs on its records and shows the answers as they come', async () => {
    const view = await harness.open('preview', 'light');
    const { page } = view;
    await view.waitForPosted('ready');
    const template = 'Review: {{text}} (rating {{rating}})';
    const content = preview('reviews.json, lines 1–7', template, jsonRows, [malformed(5, "line 5: Expected ',' or '}' after property value in JSON at position 31")], 12);
    await send(view, content);
    await send(view, { type: 'parseErrors', errors: [{ line: 5, message: "Expected ',' or '}' after property value in JSON at position 31" }] });

    await page.locator('.preview-source', { hasText: `reviews.json, lines 1–7 · ${model} · 5 records shown` }).waitFor();
    assert.deepEqual(await visibleHeaders(page), ['Line', 'Key', 'id', 'text', 'rating', 'Prompt', 'Tokens', 'Est. cost']);
    const rows = page.locator('.records-table tbody tr');
    assert.equal(await rows.count(), 5);
    const first = content.records[0];
    assert.deepEqual((await rows.nth(0).locator('th, td').allTextContents()).slice(0, 8), [
      '2',
      '1',
      '1',
      'Lovely oolong, would buy again',
      '5',
      'Review: Lovely oolong, would buy again (rating 5)',
      String(first.inputTokens),
      usd(first.estimatedCostUsd ?? 0),
    ]);
    const broken = rows.nth(3);
    assert.ok(await broken.evaluate((row) => row.classList.contains('has-error')));
    assert.match((await broken.locator('.prompt').textContent()) ?? '', /^line 5: Expected ','/);
    assert.equal(await broken.locator('.tokens').textContent(), '—');

    const tokens = content.records.reduce((sum, item) => sum + item.inputTokens, 0);
    const cost = content.records.reduce((sum, item) => sum + (item.estimatedCostUsd ?? 0), 0);
    assert.deepEqual(await page.locator('.records-table tfoot tr th, .records-table tfoot tr td:visible').allTextContents(), [
      'Total: 5 records',
      tokens.toLocaleString('en-US'),
      usd(cost),
    ]);
    assert.equal(await page.locator('.whole-selection').textContent(), `Whole selection: 12 records · ~${(12 * 60).toLocaleString('en-US')} input tokens · ~${usd(12 * 60 * pricePerToken)}`);
    assert.deepEqual(await page.locator('.parse-errors li').allTextContents(), ["Line 5Expected ',' or '}' after property value in JSON at position 31"]);
    assert.equal(await page.locator('.runnable').textContent(), '4 of 5 records can run (1 has an error).');

    // A long cell is cut short; a click shows all of it.
    const cut = rows.nth(1).locator('.field button.cell-more');
    assert.match((await cut.textContent()) ?? '', /…$/);
    await cut.click();
    const dialog = page.locator('dialog.full-text');
    await dialog.locator('pre', { hasText: longReview }).waitFor();
    assert.equal(await dialog.locator('h2').textContent(), 'Record 2: text');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'hidden' });

    const run = page.getByRole('button', { name: 'Run on these records' });
    await run.click();
    assert.deepEqual(await view.waitForPosted('runOnThese'), { type: 'runOnThese', keys: jsonRows.map((row) => row.key) });
    assert.ok(await run.isDisabled());
    assert.equal(await page.locator('.run-status').textContent(), 'Starting a run on 4 records…');
    await send(view, { type: 'runStatus', state: 'running', message: `Running 4 records on ${model}…` });
    await page.locator('.run-status', { hasText: 'Running 4 records' }).waitFor();

    await send(view, {
      type: 'answers',
      answers: [
        { key: '1', output: { sentiment: 'positive', confidence: 0.97 }, error: null },
        { key: '2', output: null, error: 'invalid_output: "sentiment" must be one of positive, negative, mixed' },
      ],
    });
    await page.locator('.records-table thead th.answer').waitFor({ state: 'visible' });
    assert.equal(await rows.nth(0).locator('.answer').textContent(), 'sentiment: positive · confidence: 0.97');
    assert.equal(await rows.nth(1).locator('.answer').getAttribute('data-answered'), 'failed');
    assert.equal(await rows.nth(2).locator('.answer').textContent(), '');
    await send(view, {
      type: 'answers',
      answers: [
        { key: '3', output: { sentiment: 'mixed', confidence: 0.55 }, error: null },
        { key: '5', output: { sentiment: 'negative', confidence: 0.88 }, error: null },
      ],
    });
    await rows.nth(4).locator('.answer', { hasText: 'sentiment: negative' }).waitFor();
    await send(view, { type: 'runStatus', state: 'done', message: '3 answers, 1 failed, in 1.4s for $0.0004' });
    await page.locator('.run-status[data-state="done"]').waitFor();
    assert.ok(await run.isEnabled());
    await view.screenshot('preview-json-light');

    const edited = 'Rate this tea review: {{text}}';
    await page.getByLabel('Prompt template').fill(edited);
    await page.getByRole('button', { name: 'Re-render' }).click();
    assert.deepEqual(await view.waitForPosted('changeTemplate'), { type: 'changeTemplate', template: edited });
    await send(view, preview('reviews.json, lines 1–7', edited, jsonRows, [], 12));
    await page.locator('.records-table tbody tr .prompt', { hasText: 'Rate this tea review: Lovely oolong' }).waitFor();
    assert.deepEqual(await visibleHeaders(page), ['Line', 'Key', 'id', 'text', 'rating', 'Prompt', 'Tokens', 'Est. cost'], 'the old answers are gone');
    assert.equal(await page.getByLabel('Prompt template').inputValue(), edited);
    assert.ok(await page.getByRole('button', { name: 'Re-render' }).isDisabled());

    assert.deepEqual(view.problems(), []);
    await page.close();
  });

  it('previews a CSV selection with a bad line, shows answers and a failed run, and ignores invalid messages', async () => {
    const view = await harness.open('preview', 'dark');
    const { page } = view;
    await view.waitForPosted('ready');
    const template = '{{review}} ({{stars}} stars)';
    const badLine = 'Invalid Record Length: expect 3, got 4 on line 5';
    await send(view, preview('reviews.csv, lines 1–7', template, csvRows, [malformed(5, badLine)], 6));
    await send(view, { type: 'parseErrors', errors: [{ line: 5, message: badLine }] });
    await page.locator('.parse-errors li', { hasText: badLine }).waitFor();
    assert.deepEqual(await visibleHeaders(page), ['Line', 'Key', 'sku', 'review', 'stars', 'Prompt', 'Tokens', 'Est. cost']);
    const rows = page.locator('.records-table tbody tr');
    assert.deepEqual(await rows.locator('th.key').allTextContents(), ['a-100', 'a-101', 'a-102', 'line 5', 'a-104', 'a-105']);
    // A multi-line field reads as one line, and opens in full.
    const multiLine = rows.nth(1).locator('.field button.cell-more');
    assert.equal(await multiLine.textContent(), 'Smoky. Really smoky. Too smoky');
    await multiLine.click();
    assert.equal(await page.locator('dialog.full-text pre').textContent(), 'Smoky.\nReally smoky.\nToo smoky');
    await page.keyboard.press('Escape');
    await page.locator('dialog.full-text').waitFor({ state: 'hidden' });

    await view.send({ type: 'answers', answers: [{ key: 1 }] });
    await view.send({ type: 'preview', records: 'none' });

    await page.getByRole('button', { name: 'Run on these records' }).click();
    assert.deepEqual((await view.waitForPosted('runOnThese')).keys, csvRows.map((row) => row.key));
    await send(view, { type: 'runStatus', state: 'running', message: 'Running 5 records…' });
    await send(view, {
      type: 'answers',
      answers: csvRows.slice(0, 3).map((row, index) => ({ key: row.key, output: { sentiment: ['positive', 'negative', 'mixed'][index], confidence: 0.9 }, error: null })),
    });
    await send(view, { type: 'runStatus', state: 'failed', message: 'The provider rejected the API key (401). Set a key with "Drover: Set API Key" and run again.' });
    await page.locator('.run-status[data-state="failed"]').waitFor();
    assert.equal(await rows.nth(2).locator('.answer').textContent(), 'sentiment: mixed · confidence: 0.9');
    assert.ok(await page.getByRole('button', { name: 'Run on these records' }).isEnabled());
    await view.screenshot('preview-csv-dark');

    const problems = view.problems();
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.ok(problems.every((line) => line.includes('ignored an invalid message')), problems.join('\n'));
    await page.close();
  });
});
