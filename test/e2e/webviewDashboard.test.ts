// The job dashboard's real bundle in Chromium, under the CSP the extension serves it with:
// the test plays the extension (ready → snapshot → 30 progress updates → errors → results →
// a failed pause → done) and checks what a user sees and what the buttons post back.
// Needs the build (`node esbuild.mjs`).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { JobEstimate } from '../../daemon/protocol/estimate';
import type { JobProgress } from '../../daemon/protocol/jobProgress';
import { type DashboardSnapshot, extensionToDashboardSchema, type ResultsPage } from '../../webview/protocol/dashboardMessages';
import { startWebviewHarness, type WebviewHarness, type WebviewPage } from '../support/webviewHarness';
import { webviewThemes } from '../support/webviewThemes';

const jobId = 'feedback-sentiment';
const total = 1000;
const budgetUsd = 1;
const estimateUsd = 0.42;
const concurrency = 16;
const rpm = 3000;
const tpm = 1_000_000;
const count = (value: number) => value.toLocaleString('en-US');

function progressAt(step: number, overrides: Partial<JobProgress> = {}): JobProgress {
  const done = step * 28;
  const failed = step;
  const recordsPerSec = 20 + step;
  const costUsd = 0.012 * step;
  return {
    jobId,
    status: 'running',
    statusReason: null,
    pauseClass: null,
    records: { total, totalExact: true, done, failed, cached: 0 },
    requests: step * 3,
    retries: step % 4,
    rateLimited: step % 3,
    inFlight: 8 + (step % 5),
    tokens: { prompt: step * 4000, completion: step * 600 },
    costUsd,
    projectedCostUsd: step === 0 ? null : (costUsd / (done + failed)) * total,
    budgetUsd,
    rates: { recordsPerSec, tokensPerSec: 1500 + 40 * step },
    etaSec: (total - done - failed) / recordsPerSec,
    headroom: { requests: { limit: rpm, available: rpm - 50 * step }, tokens: { limit: tpm, available: tpm - 20_000 * step }, holdMs: step === 30 ? 2500 : 0 },
    endpoint: 'http://127.0.0.1:8787/v1',
    elapsedSec: step,
    ...overrides,
  };
}

const estimate: JobEstimate = {
  jobId,
  records: { total, totalExact: true, scanned: total, basis: 'all', malformed: 0, templateErrors: 0, oversize: 0 },
  tokenizer: { name: 'o200k_base', exact: true },
  requests: 50,
  tokens: { prompt: 120_000, output: 30_000, perRecordInput: 120 },
  models: [
    { model: 'gpt-4.1-mini', inputPerMTok: 0.4, outputPerMTok: 1.6, costUsd: estimateUsd, chosen: true },
    { model: 'gpt-4.1', inputPerMTok: 2, outputPerMTok: 8, costUsd: 2.1, chosen: false },
  ],
  duration: { seconds: 60, limitedBy: 'rpm', note: 'about a minute at 3,000 requests a minute' },
};

function resultsPage(offset: number, limit: number, size: number): ResultsPage {
  const rows = Array.from({ length: size }, (_, index) => {
    const ordinal = offset + index;
    const failed = ordinal % 4 === 3;
    return {
      key: `r-${ordinal + 1}`,
      ordinal,
      status: failed ? ('failed' as const) : ('done' as const),
      output: failed ? null : { sentiment: ordinal % 2 === 0 ? 'positive' : 'negative', confidence: 0.5 + ordinal / 100 },
      error: failed ? 'the answer had no item for this record' : null,
      errorClass: failed ? 'missing_answer' : null,
      attempts: failed ? 3 : 1,
      promptTokens: 120,
      completionTokens: 20,
      costUsd: 0.0004,
      model: 'gpt-4.1-mini',
      updatedAt: new Date(Date.UTC(2025, 0, 1, 12, 0, ordinal)).toISOString(),
    };
  });
  return { offset, limit, total: 12, rows };
}

function snapshot(progress: JobProgress | null): DashboardSnapshot {
  return {
    type: 'snapshot',
    jobId,
    name: jobId,
    spec: {
      model: 'gpt-4.1-mini',
      source: 'sqlite data/feedback.db (SELECT id, text FROM feedback)',
      sink: 'jsonl out/sentiment.jsonl',
      limits: { concurrency, rpm, tpm },
      budgetUsd,
    },
    progress,
    errors: [],
    results: resultsPage(0, 5, 5),
    estimate,
    history: [],
  };
}

/** Sends only what the protocol accepts: a test message the schema refuses is the test's bug. */
async function send(view: WebviewPage, message: unknown): Promise<void> {
  await view.send(extensionToDashboardSchema.parse(message));
}

/** Pixels of the chart canvas close to `hex`: the line uPlot drew in that theme colour. */
async function chartPixels(page: Page, hex: string): Promise<number> {
  return page.evaluate((color) => {
    const canvas = document.querySelector<HTMLCanvasElement>('.rate-chart canvas');
    // A copy to read from, so the chart's own canvas is never read back (Chromium warns when one is, often).
    const copy = document.createElement('canvas');
    const context = copy.getContext('2d', { willReadFrequently: true });
    if (!canvas || !context) return -1;
    copy.width = canvas.width;
    copy.height = canvas.height;
    context.drawImage(canvas, 0, 0);
    const { data } = context.getImageData(0, 0, copy.width, copy.height);
    const [red, green, blue] = [1, 3, 5].map((start) => parseInt(color.slice(start, start + 2), 16));
    let matching = 0;
    for (let index = 0; index < data.length; index += 4) {
      const close = Math.abs(data[index] - red) < 30 && Math.abs(data[index + 1] - green) < 30 && Math.abs(data[index + 2] - blue) < 30;
      if (close && data[index + 3] > 200) matching += 1;
    }
    return matching;
  }, hex);
}

/** Where an element starts and how wide it is, as a percentage of `container`'s width. */
async function spanWithin(page: Page, selector: string, container: string): Promise<{ left: number; width: number }> {
  const inner = await page.locator(selector).boundingBox();
  const outer = await page.locator(container).boundingBox();
  assert.ok(inner && outer, `${selector} and ${container} should be on screen`);
  return { left: ((inner.x - outer.x) / outer.width) * 100, width: (inner.width / outer.width) * 100 };
}

function assertNear(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) < 1.5, `${what}: ${actual.toFixed(2)} should be about ${expected.toFixed(2)}`);
}

async function buttonStates(page: Page): Promise<Record<string, boolean>> {
  const states: Record<string, boolean> = {};
  for (const action of ['pause', 'resume', 'cancel', 'openResults']) {
    states[action] = await page.locator(`.job-controls button[data-action="${action}"]`).isEnabled();
  }
  return states;
}

describe('the job dashboard webview in Chromium', () => {
  let harness: WebviewHarness;

  before(async () => {
    harness = await startWebviewHarness();
  });

  after(async () => {
    await harness?.close();
  });

  for (const theme of ['light', 'dark'] as const) {
    it(`shows a job from its snapshot to the end, in the ${theme} theme`, async () => {
      const view = await harness.open('dashboard', theme);
      const { page } = view;
      await view.waitForPosted('ready');
      await send(view, snapshot(progressAt(0)));
      await page.locator('.job-name', { hasText: jobId }).waitFor();
      assert.match((await page.locator('.job-spec').textContent()) ?? '', /gpt-4\.1-mini · sqlite data\/feedback\.db .*16 at once · 3,000 rpm · 1,000,000 tpm · budget \$1\.00/);

      for (let step = 1; step <= 30; step += 1) {
        await send(view, { type: 'progress', progress: progressAt(step) });
        await page.waitForTimeout(15);
      }
      const last = progressAt(30);
      const finished = last.records.done + last.records.failed;
      await page.locator('.progress-count', { hasText: `${count(finished)} / ${count(total)} records` }).waitFor();
      const bar = page.locator('[role="progressbar"]');
      assert.equal(await bar.getAttribute('aria-valuenow'), String(finished));
      assert.equal(await bar.getAttribute('aria-valuemax'), String(total));
      assert.equal(await page.locator('.progress-percent').textContent(), `${((finished / total) * 100).toFixed(1)}%`);
      assert.equal(await page.locator('.progress-failed-count').textContent(), `${last.records.failed} failed`);
      assertNear((await spanWithin(page, '.progress-done', '.progress-bar')).width, (last.records.done / total) * 100, 'done share of the bar');
      assert.match((await page.locator('.progress-eta').textContent()) ?? '', /^ETA \d+s$/);

      const colors = webviewThemes[theme].variables;
      assert.ok((await chartPixels(page, colors['--vscode-charts-blue'])) > 100, 'the records/s line is drawn in the theme blue');
      assert.ok((await chartPixels(page, colors['--vscode-charts-orange'])) > 50, 'the tokens/s line is drawn in the theme orange');
      assert.equal(await page.locator('.chart-legend .legend-value').first().textContent(), `${last.rates.recordsPerSec}/s`);

      const meters = page.locator('.meter-row');
      assert.equal(await meters.nth(0).locator('.meter-value').textContent(), `${count(rpm - 1500)} / ${count(rpm)} requests available`);
      assert.equal(await meters.nth(0).locator('[role="meter"]').getAttribute('aria-valuenow'), String(rpm - 1500));
      assert.match((await meters.nth(1).locator('.meter-value').textContent()) ?? '', /^400K \/ 1M tokens available$/);
      assert.equal(await meters.nth(2).locator('.meter-value').textContent(), `${last.inFlight} / ${concurrency} in flight`);
      assert.match((await page.locator('.hold').textContent()) ?? '', /^Holding new requests for 3s/);

      // One scale for the four figures, 10 % past the largest (the budget here).
      const scale = budgetUsd * 1.1;
      assertNear((await spanWithin(page, '.cost-spent', '.cost-bar')).width, (last.costUsd / scale) * 100, 'spent share of the cost bar');
      assertNear((await spanWithin(page, '.cost-marker.estimate', '.cost-bar')).left, (estimateUsd / scale) * 100, 'estimate marker');
      assertNear((await spanWithin(page, '.cost-marker.budget', '.cost-bar')).left, (budgetUsd / scale) * 100, 'budget marker');
      assert.equal(await page.locator('.cost-value.spent').textContent(), '$0.36');
      assert.equal(await page.locator('.cost-value.estimate').textContent(), '$0.42');
      assert.equal(await page.locator('.cost-value.budget').textContent(), '$1.00');

      await send(view, {
        type: 'errors',
        errors: [
          { errorClass: 'rate_limited', count: 3, sampleKey: null, sampleMessage: 'HTTP 429: slow down', lastAt: '2025-01-01T12:00:03Z' },
          { errorClass: 'invalid_output', count: 7, sampleKey: 'r-17', sampleMessage: 'the answer has no "sentiment"', lastAt: '2025-01-01T12:00:05Z' },
        ],
      });
      const errorRows = page.locator('.errors-table tbody tr');
      await errorRows.nth(1).waitFor();
      assert.deepEqual(await errorRows.nth(0).locator('th, td').allTextContents().then((cells) => cells.slice(0, 4)), ['invalid_output', '7', 'r-17', 'the answer has no "sentiment"']);
      assert.deepEqual(await errorRows.nth(1).locator('th, td').allTextContents().then((cells) => cells.slice(0, 4)), ['rate_limited', '3', '—', 'HTTP 429: slow down']);
      assert.equal(await page.locator('#errors-title .count-badge').textContent(), '10');

      // Updates change rows in place: the row of a class that stays is the same element.
      await errorRows.nth(0).evaluate((row) => row.setAttribute('data-test-mark', 'kept'));
      await send(view, {
        type: 'errors',
        errors: [
          { errorClass: 'invalid_output', count: 9, sampleKey: 'r-17', sampleMessage: 'the answer has no "sentiment"', lastAt: '2025-01-01T12:00:09Z' },
          { errorClass: 'http_500', count: 12, sampleKey: 'r-40', sampleMessage: 'HTTP 500: upstream error', lastAt: '2025-01-01T12:00:08Z' },
          { errorClass: 'rate_limited', count: 3, sampleKey: null, sampleMessage: 'HTTP 429: slow down', lastAt: '2025-01-01T12:00:03Z' },
        ],
      });
      await page.locator('#errors-title .count-badge', { hasText: '24' }).waitFor();
      assert.deepEqual(await errorRows.locator('th').allTextContents(), ['http_500', 'invalid_output', 'rate_limited']);
      assert.equal(await errorRows.nth(1).getAttribute('data-test-mark'), 'kept');
      assert.equal(await errorRows.nth(1).locator('td').first().textContent(), '9');

      const resultRows = page.locator('.results-table tbody tr');
      assert.equal(await resultRows.count(), 5);
      assert.deepEqual(await page.locator('.results-table thead th').allTextContents(), ['Key', 'Status', 'sentiment', 'confidence', 'Error']);
      assert.deepEqual(await resultRows.nth(3).locator('th, td').allTextContents(), ['r-4', 'failed', '', '', 'missing_answer: the answer had no item for this record']);
      assert.equal(await page.locator('.pager-text').textContent(), '1–5 of 12');
      await page.getByRole('button', { name: 'Next page' }).click();
      assert.deepEqual(await view.waitForPosted('requestResults'), { type: 'requestResults', jobId, offset: 5, limit: 5 });
      await send(view, { type: 'results', page: resultsPage(5, 5, 5) });
      await page.locator('.pager-text', { hasText: '6–10 of 12' }).waitFor();
      assert.equal(await resultRows.first().locator('th').textContent(), 'r-6');

      assert.deepEqual(await buttonStates(page), { pause: true, resume: false, cancel: true, openResults: true });
      await view.screenshot(`dashboard-${theme}-running`);
      await page.getByRole('button', { name: 'Pause' }).click();
      assert.deepEqual(await view.waitForPosted('pause'), { type: 'pause', jobId });

      const refused = 'The provider rejected the API key (401): Incorrect API key provided. Set a valid key (the spec\'s provider.apiKeyEnv variable, or "Drover: Set API Key") and resume.';
      await send(view, { type: 'progress', progress: progressAt(30, { status: 'paused', pauseClass: 'auth', statusReason: refused, inFlight: 0, etaSec: null }) });
      const banner = page.locator('.status-banner');
      await banner.locator('.status-message', { hasText: refused }).waitFor();
      assert.equal(await banner.getAttribute('role'), 'alert');
      assert.equal(await banner.getAttribute('data-tone'), 'error');
      assert.equal(await page.locator('.phase-badge').textContent(), 'Failed');
      assert.deepEqual(await buttonStates(page), { pause: false, resume: true, cancel: true, openResults: true });
      await view.screenshot(`dashboard-${theme}-failed`);
      await banner.getByRole('button', { name: 'Set API Key' }).click();
      assert.deepEqual(await view.waitForPosted('setApiKey'), { type: 'setApiKey', jobId });

      const doneProgress = progressAt(31, {
        status: 'done',
        records: { total, totalExact: true, done: total - 30, failed: 30, cached: 0 },
        rates: { recordsPerSec: 0, tokensPerSec: 0 },
        etaSec: null,
        inFlight: 0,
        costUsd: 0.4,
        projectedCostUsd: 0.4,
      });
      await send(view, { type: 'progress', progress: doneProgress });
      await page.locator('.progress-percent', { hasText: '100.0%' }).waitFor();
      assert.equal(await banner.getAttribute('data-tone'), 'success');
      assert.equal(await banner.locator('.status-message').textContent(), `Finished ${count(total)} records (30 failed) in 31s for $0.40.`);
      assert.ok(await banner.getByRole('button', { name: 'Set API Key' }).isHidden());
      assert.deepEqual(await buttonStates(page), { pause: false, resume: false, cancel: false, openResults: true });
      await view.screenshot(`dashboard-${theme}-done`);
      await page.getByRole('button', { name: 'Export Results…' }).click();
      assert.deepEqual(await view.waitForPosted('openResults'), { type: 'openResults', jobId });

      assert.deepEqual(view.problems(), []);
      await page.close();
    });
  }

  it('ignores invalid messages and updates for another job, keeps its chart across a reload, follows a theme change', async () => {
    const view = await harness.open('dashboard', 'high-contrast');
    const { page } = view;
    await view.waitForPosted('ready');
    await send(view, snapshot(progressAt(0)));
    for (let step = 1; step <= 12; step += 1) await send(view, { type: 'progress', progress: progressAt(step) });
    const shown = `${count(12 * 29)} / ${count(total)} records`;
    await page.locator('.progress-count', { hasText: shown }).waitFor();

    await view.send({ type: 'progress', progress: { jobId } });
    await view.send({ type: 'explode' });
    await view.send('not even an object');
    await send(view, { type: 'progress', progress: progressAt(13, { jobId: 'another-job' }) });
    await page.waitForTimeout(200);
    assert.equal(await page.locator('.progress-count').textContent(), shown);
    const problems = view.problems();
    assert.equal(problems.filter((line) => line.includes('ignored an invalid message')).length, 3, problems.join('\n'));
    assert.equal(problems.filter((line) => line.includes('ignored progress for job another-job')).length, 1, problems.join('\n'));
    assert.equal(problems.length, 4, problems.join('\n'));
    await view.screenshot('dashboard-high-contrast-running');

    // A reload starts the page afresh: the chart comes back from the saved state before any snapshot.
    await page.reload();
    await view.waitForPosted('ready', 2);
    const blue = webviewThemes['high-contrast'].variables['--vscode-charts-blue'];
    await page.waitForFunction(() => document.querySelector('.rate-chart canvas') !== null);
    const drawnInOldBlue = await chartPixels(page, blue);
    assert.ok(drawnInOldBlue > 100, 'the chart is drawn from the state saved before the reload');
    assert.equal(await page.locator('.chart-legend .legend-value').first().textContent(), `${progressAt(12).rates.recordsPerSec}/s`);

    await view.setTheme('light');
    const lightBlue = webviewThemes.light.variables['--vscode-charts-blue'];
    await page.waitForFunction(() => document.body.classList.contains('vscode-light'));
    await page.waitForTimeout(100);
    assert.ok((await chartPixels(page, lightBlue)) > 100, 'a theme change redraws the chart in the new colours');
    // Only the new line's anti-aliased edges may come near the old colour.
    assert.ok((await chartPixels(page, blue)) < drawnInOldBlue / 5, 'the line is no longer drawn in the old theme colour');

    // connect-src 'none': the page cannot reach even its own origin.
    const fetched = await page.evaluate(() => fetch('/webview/dashboard.css').then(() => 'loaded', () => 'blocked'));
    assert.equal(fetched, 'blocked');
    await page.close();
  });
});
