import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobProgress } from '../../daemon/protocol/jobProgress';
import { dashboardToExtensionSchema, extensionToDashboardSchema } from '../../webview/protocol/dashboardMessages';
import { extensionToPreviewSchema, previewToExtensionSchema } from '../../webview/protocol/previewMessages';

const progress: JobProgress = {
  jobId: 'reviews',
  status: 'running',
  statusReason: null,
  pauseClass: null,
  records: { total: 100, totalExact: true, done: 10, failed: 1, cached: 0 },
  requests: 2,
  retries: 0,
  rateLimited: 0,
  inFlight: 3,
  tokens: { prompt: 1000, completion: 200 },
  costUsd: 0.01,
  projectedCostUsd: 0.09,
  budgetUsd: null,
  rates: { recordsPerSec: 5, tokensPerSec: 600 },
  etaSec: 18,
  headroom: { requests: { limit: 60, available: 58 }, tokens: null, holdMs: 0 },
  endpoint: 'http://127.0.0.1:9/v1',
  elapsedSec: 2.2,
};

const resultRow = {
  key: 'r1',
  ordinal: 0,
  status: 'done',
  output: { label: 'positive' },
  error: null,
  errorClass: null,
  attempts: 1,
  promptTokens: 50,
  completionTokens: 5,
  costUsd: 0.0001,
  model: 'gpt-4.1-mini',
  updatedAt: '2025-01-01T00:00:00.000Z',
};

const snapshot = {
  type: 'snapshot',
  jobId: 'reviews',
  name: 'reviews',
  spec: { model: 'gpt-4.1-mini', source: 'file reviews.jsonl', sink: null, limits: { concurrency: 8, rpm: null, tpm: 100000 }, budgetUsd: 5 },
  progress,
  errors: [{ errorClass: 'http_500', count: 2, sampleKey: 'r9', sampleMessage: 'HTTP 500', lastAt: '2025-01-01T00:00:00Z' }],
  results: { offset: 0, limit: 20, total: 1, rows: [resultRow] },
  estimate: null,
  history: [{ elapsedSec: 1, recordsPerSec: 4, tokensPerSec: 500 }],
};

const previewRecord = { key: '1', line: 2, fields: { text: 'hi' }, input: 'Review: hi', error: null, inputTokens: 12, estimatedCostUsd: 0.00001 };

function refuses(schema: { safeParse(value: unknown): { success: boolean } }, message: unknown, why: string): void {
  assert.equal(schema.safeParse(message).success, false, `should refuse ${why}: ${JSON.stringify(message)}`);
}

describe('dashboard messages', () => {
  it('accepts every message the extension sends', () => {
    for (const message of [
      snapshot,
      { ...snapshot, progress: null, estimate: null, history: [] },
      { type: 'progress', progress },
      { type: 'errors', errors: [] },
      { type: 'results', page: { offset: 20, limit: 20, total: 21, rows: [resultRow] } },
    ]) {
      const parsed = extensionToDashboardSchema.safeParse(message);
      assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
    }
  });

  it('refuses messages from the extension that are malformed', () => {
    refuses(extensionToDashboardSchema, { type: 'unknown' }, 'an unknown type');
    refuses(extensionToDashboardSchema, 'progress', 'a string');
    refuses(extensionToDashboardSchema, { type: 'progress' }, 'a progress without numbers');
    refuses(extensionToDashboardSchema, { type: 'progress', progress: { ...progress, status: 'exploded' } }, 'an unknown status');
    refuses(extensionToDashboardSchema, { type: 'progress', progress: { ...progress, costUsd: Number.NaN } }, 'NaN');
    refuses(extensionToDashboardSchema, { ...snapshot, jobId: '' }, 'an empty job id');
    refuses(extensionToDashboardSchema, { ...snapshot, history: [{ elapsedSec: -1, recordsPerSec: 1, tokensPerSec: 1 }] }, 'a negative time');
    refuses(extensionToDashboardSchema, { ...snapshot, spec: { ...snapshot.spec, limits: { concurrency: 0, rpm: null, tpm: null } } }, 'no concurrency');
    refuses(extensionToDashboardSchema, { type: 'results', page: { offset: -1, limit: 20, total: 0, rows: [] } }, 'a negative offset');
    refuses(extensionToDashboardSchema, { type: 'results', page: { offset: 0, limit: 20, total: 1, rows: [{ ...resultRow, status: 'pending' }] } }, 'a pending row');
  });

  it('accepts what the webview posts and refuses what it must not', () => {
    for (const message of [
      { type: 'ready' },
      { type: 'pause', jobId: 'reviews' },
      { type: 'resume', jobId: 'reviews' },
      { type: 'cancel', jobId: 'reviews' },
      { type: 'openResults', jobId: 'reviews' },
      { type: 'setApiKey', jobId: 'reviews' },
      { type: 'showLogs', jobId: 'reviews' },
      { type: 'requestResults', jobId: 'reviews', offset: 40, limit: 20 },
    ]) {
      assert.ok(dashboardToExtensionSchema.safeParse(message).success, JSON.stringify(message));
    }
    refuses(dashboardToExtensionSchema, { type: 'pause' }, 'a pause without a job');
    refuses(dashboardToExtensionSchema, { type: 'delete', jobId: 'reviews' }, 'an action the dashboard does not have');
    refuses(dashboardToExtensionSchema, { type: 'requestResults', jobId: 'reviews', offset: 0, limit: 1001 }, 'a page over 1000');
    refuses(dashboardToExtensionSchema, { type: 'requestResults', jobId: 'reviews', offset: 0.5, limit: 20 }, 'a fractional offset');
  });
});

describe('preview messages', () => {
  const preview = {
    type: 'preview',
    source: 'reviews.csv, lines 1–3',
    model: 'gpt-4.1-mini',
    system: null,
    template: 'Review: {{text}}',
    records: [previewRecord, { ...previewRecord, key: 'line 3', line: 3, fields: {}, input: null, error: 'line 3: bad quote', inputTokens: 0, estimatedCostUsd: null }],
    totals: { records: null, inputTokens: null, estimatedCostUsd: null },
  };

  it('accepts every message the extension sends', () => {
    for (const message of [
      preview,
      { type: 'parseErrors', errors: [{ line: 3, message: 'bad quote' }] },
      { type: 'runStatus', state: 'running', message: 'Running 2 records…' },
      { type: 'answers', answers: [{ key: '1', output: { label: 'positive' }, error: null }, { key: '2', output: null, error: 'invalid_output' }] },
    ]) {
      const parsed = extensionToPreviewSchema.safeParse(message);
      assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
    }
  });

  it('refuses messages from the extension that are malformed', () => {
    refuses(extensionToPreviewSchema, { ...preview, records: [{ ...previewRecord, inputTokens: 'many' }] }, 'tokens as text');
    refuses(extensionToPreviewSchema, { type: 'parseErrors', errors: [{ line: 0, message: 'x' }] }, 'line 0');
    refuses(extensionToPreviewSchema, { type: 'runStatus', state: 'paused', message: '' }, 'an unknown run state');
    refuses(extensionToPreviewSchema, { type: 'answers', answers: [{ key: 1, output: null, error: null }] }, 'a numeric key');
  });

  it('accepts what the webview posts and refuses what it must not', () => {
    for (const message of [{ type: 'ready' }, { type: 'runOnThese', keys: ['1', '2'] }, { type: 'changeTemplate', template: '{{text}}' }]) {
      assert.ok(previewToExtensionSchema.safeParse(message).success, JSON.stringify(message));
    }
    refuses(previewToExtensionSchema, { type: 'runOnThese', keys: [] }, 'a run on nothing');
    refuses(previewToExtensionSchema, { type: 'changeTemplate', template: '' }, 'an empty template');
    refuses(previewToExtensionSchema, { type: 'runAll' }, 'an unknown type');
  });
});
