import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobEstimate } from '../../daemon/protocol/estimate';
import type { JobProgress } from '../../daemon/protocol/jobProgress';
import { costBarLayout, estimatedCostUsd } from '../../webview/dashboard/costBar';
import { costFigures, costSummaryText } from '../../webview/dashboard/costView';
import { specSummaryText } from '../../webview/dashboard/jobHeader';
import { bannerFor, controlsFor, jobPhase } from '../../webview/dashboard/jobPhase';
import { etaText, progressText } from '../../webview/dashboard/progressView';
import { outputColumns, pageText } from '../../webview/dashboard/resultsView';
import type { ResultRowMessage } from '../../webview/protocol/dashboardMessages';

function progress(overrides: Partial<JobProgress> = {}): JobProgress {
  return {
    jobId: 'reviews',
    status: 'running',
    statusReason: null,
    pauseClass: null,
    records: { total: 5_000_000, totalExact: true, done: 400_000, failed: 12_000, cached: 0 },
    requests: 0,
    retries: 0,
    rateLimited: 0,
    inFlight: 0,
    tokens: { prompt: 0, completion: 0 },
    costUsd: 12.4,
    projectedCostUsd: 150,
    budgetUsd: 200,
    rates: { recordsPerSec: 1230, tokensPerSec: 50_000 },
    etaSec: 3725,
    headroom: { requests: null, tokens: null, holdMs: 0 },
    endpoint: '',
    elapsedSec: 335,
    ...overrides,
  };
}

describe('job phase, banner and buttons', () => {
  it('reads a paused job by why it paused', () => {
    assert.equal(jobPhase(null), 'waiting');
    assert.equal(jobPhase(progress()), 'running');
    assert.equal(jobPhase(progress({ status: 'paused', pauseClass: 'user' })), 'paused');
    assert.equal(jobPhase(progress({ status: 'paused', pauseClass: null })), 'paused');
    assert.equal(jobPhase(progress({ status: 'paused', pauseClass: 'budget' })), 'overBudget');
    assert.equal(jobPhase(progress({ status: 'paused', pauseClass: 'auth' })), 'failed');
    assert.equal(jobPhase(progress({ status: 'done' })), 'done');
    assert.equal(jobPhase(progress({ status: 'cancelled' })), 'cancelled');
  });

  it('offers "Set API Key" only where a key can fix the stop, and shows the engine\'s reason', () => {
    const reason = 'The provider rejected the API key (401): bad key. Set a valid key and resume.';
    assert.deepEqual(bannerFor(progress({ status: 'paused', pauseClass: 'auth', statusReason: reason })), { tone: 'error', message: reason, actions: ['setApiKey', 'showLogs'] });
    assert.deepEqual(bannerFor(progress({ status: 'paused', pauseClass: 'unknown_model', statusReason: 'no such model' }))?.actions, ['showLogs']);
    assert.equal(bannerFor(progress({ status: 'paused', pauseClass: 'budget', statusReason: null }))?.tone, 'warning');
    assert.match(bannerFor(progress({ status: 'paused', pauseClass: 'budget', statusReason: null }))?.message ?? '', /budget of \$200\.00/);
    assert.equal(bannerFor(progress()), null);
    assert.equal(bannerFor(null), null);
  });

  it('sums up a finished job in its banner', () => {
    const done = progress({ status: 'done', records: { total: 1000, totalExact: true, done: 990, failed: 10, cached: 0 }, elapsedSec: 200, costUsd: 1.5 });
    assert.deepEqual(bannerFor(done), { tone: 'success', message: 'Finished 1,000 records (10 failed) in 3m 20s for $1.50.', actions: [] });
  });

  it('enables the buttons that make sense for the status', () => {
    assert.deepEqual(controlsFor(null), { pause: false, resume: false, cancel: false, openResults: false });
    assert.deepEqual(controlsFor(progress()), { pause: true, resume: false, cancel: true, openResults: true });
    assert.deepEqual(controlsFor(progress({ status: 'paused' })), { pause: false, resume: true, cancel: true, openResults: true });
    assert.deepEqual(controlsFor(progress({ status: 'done' })), { pause: false, resume: false, cancel: false, openResults: true });
    const nothingYet = progress({ records: { total: 10, totalExact: true, done: 0, failed: 0, cached: 0 } });
    assert.equal(controlsFor(nothingYet).openResults, false);
  });
});

describe('progress and header text', () => {
  it('counts finished records against the total, marking an estimated total', () => {
    assert.equal(progressText(progress()), '412,000 / 5,000,000 records');
    assert.equal(progressText(progress({ records: { total: 5_000_000, totalExact: false, done: 1, failed: 0, cached: 0 } })), '1 / ~5,000,000 records');
    assert.equal(progressText(progress({ records: { total: null, totalExact: false, done: 7, failed: 0, cached: 0 } })), '7 records (total not known yet)');
  });

  it('gives an ETA only while running', () => {
    assert.equal(etaText(progress()), 'ETA 1h 02m');
    assert.equal(etaText(progress({ etaSec: null })), 'ETA —');
    assert.equal(etaText(progress({ status: 'paused' })), 'ETA —');
    assert.equal(etaText(progress({ status: 'done' })), 'took 5m 35s');
  });

  it('sums up the spec in one line', () => {
    const spec = { model: 'gpt-4.1', source: 'sqlite feedback.db', sink: 'jsonl out.jsonl', limits: { concurrency: 64, rpm: 3000, tpm: null }, budgetUsd: 50 };
    assert.equal(specSummaryText(spec), 'gpt-4.1 · sqlite feedback.db · 64 at once · 3,000 rpm · budget $50.00 · → jsonl out.jsonl');
    assert.equal(specSummaryText({ ...spec, sink: null, budgetUsd: null, limits: { concurrency: 1, rpm: null, tpm: 10_000 } }), 'gpt-4.1 · sqlite feedback.db · 1 at once · 10,000 tpm · no budget');
  });
});

describe('cost bar', () => {
  it('puts the four figures on one scale, 10 % past the largest', () => {
    const layout = costBarLayout({ spentUsd: 11, projectedUsd: 55, estimateUsd: 44, budgetUsd: 100 });
    const near = (actual: number | null, expected: number) => assert.ok(actual !== null && Math.abs(actual - expected) < 1e-9, `${actual} should be ${expected}`);
    near(layout.scaleUsd, 110);
    near(layout.spentPercent, 10);
    near(layout.projectedPercent, 50);
    near(layout.estimatePercent, 40);
    near(layout.budgetPercent, 100 / 1.1);
    assert.equal(layout.overBudget, false);
    assert.equal(layout.overEstimate, true);
  });

  it('marks a projection over the budget, and copes with nothing known', () => {
    assert.equal(costBarLayout({ spentUsd: 5, projectedUsd: 120, estimateUsd: null, budgetUsd: 100 }).overBudget, true);
    assert.equal(costBarLayout({ spentUsd: 101, projectedUsd: null, estimateUsd: null, budgetUsd: 100 }).overBudget, true);
    assert.deepEqual(costBarLayout({ spentUsd: 0, projectedUsd: null, estimateUsd: null, budgetUsd: null }), {
      scaleUsd: 1,
      spentPercent: 0,
      projectedPercent: null,
      estimatePercent: null,
      budgetPercent: null,
      overBudget: false,
      overEstimate: false,
    });
  });

  it('takes the estimate of the model the job runs, the budget from the job or else the spec', () => {
    const estimate = {
      models: [
        { model: 'a', inputPerMTok: 1, outputPerMTok: 1, costUsd: 9, chosen: false },
        { model: 'b', inputPerMTok: 1, outputPerMTok: 1, costUsd: 3, chosen: true },
      ],
    } as JobEstimate;
    assert.equal(estimatedCostUsd(estimate), 3);
    assert.equal(estimatedCostUsd(null), null);
    assert.deepEqual(costFigures(progress({ budgetUsd: null }), estimate, 25), { spentUsd: 12.4, projectedUsd: 150, estimateUsd: 3, budgetUsd: 25 });
    assert.deepEqual(costFigures(null, null, null), { spentUsd: 0, projectedUsd: null, estimateUsd: null, budgetUsd: null });
    assert.equal(costSummaryText({ spentUsd: 12.4, projectedUsd: 150, estimateUsd: 3, budgetUsd: null }), '$12.40 spent, projected $150.00, estimate $3.00, no budget');
  });
});

describe('results page', () => {
  const row = (key: string, output: Record<string, unknown> | null): ResultRowMessage => ({
    key,
    ordinal: 0,
    status: output === null ? 'failed' : 'done',
    output,
    error: output === null ? 'x' : null,
    errorClass: null,
    attempts: 1,
    promptTokens: 0,
    completionTokens: 0,
    costUsd: 0,
    model: null,
    updatedAt: '',
  });

  it('makes a column of each output field, in first-seen order, up to a limit', () => {
    const rows = [row('1', { label: 'a', score: 1 }), row('2', null), row('3', { label: 'b', reason: 'c' })];
    assert.deepEqual(outputColumns(rows), ['label', 'score', 'reason']);
    assert.deepEqual(outputColumns(rows, 2), ['label', 'score']);
  });

  it('says which rows the page shows', () => {
    assert.equal(pageText({ offset: 20, limit: 20, total: 1234, rows: Array.from({ length: 20 }, (_, index) => row(String(index), {})) }), '21–40 of 1,234');
    assert.equal(pageText({ offset: 0, limit: 20, total: 0, rows: [] }), 'No results yet');
  });
});
