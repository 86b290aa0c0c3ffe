// Batch mode's pure parts: the spec's batch settings, the batch price, and how waiting
// records become the lines of files within both limits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchFilePlanner } from '../../daemon/batch/batchFilePlanner';
import { OpenAiBatchApi } from '../../daemon/batch/openAiBatchApi';
import { batchDiscount, priceFor, priceForMode } from '../../daemon/cost/prices';
import { expectedDuration, modelCosts } from '../../daemon/estimate/estimateJob';
import type { BatchRecordRow } from '../../daemon/ledger/batchLedger';
import { RequestBuilder, wireItem } from '../../daemon/pipeline/requestBuilder';
import { SpecError, validateSpec } from '../../daemon/spec/loadSpec';
import { tokenizerFor } from '../../daemon/tokens/tokenizer';

const base = { name: 'b', source: { type: 'file', path: '/tmp/x.jsonl' }, prompt: { template: '{{text}}' } };

function rows(count: number, text = 'Great product, fast delivery.'): BatchRecordRow[] {
  const tokenizer = tokenizerFor('gpt-4.1-mini');
  return Array.from({ length: count }, (_, index) => {
    const wire = wireItem(String(index + 1), `${text} ${index}`, tokenizer);
    return { key: wire.key, ordinal: index + 1, inputHash: `h${index}`, wireJson: wire.json, tokens: wire.tokens, submissions: 0, submissionId: null, customId: null, lastError: null };
  });
}

function planner(limits: { maxRequestsPerFile: number; maxBytesPerFile: number; recordsPerRequest: number }) {
  const spec = validateSpec(base);
  const builder = new RequestBuilder(spec, tokenizerFor(spec.model));
  const api = new OpenAiBatchApi({ baseUrl: 'http://127.0.0.1:1/v1', headers: {}, apiKey: undefined }, 1000);
  return {
    builder,
    api,
    planner: new BatchFilePlanner(builder, spec.model, (records) => 20 * records + 16, { ...limits, maxPromptTokens: 6000 }, (id, body) => api.encodeLine(id, body)),
  };
}

describe('batch mode parts', () => {
  it('defaults to online mode with OpenAI-sized batch files, and refuses files larger than OpenAI allows', () => {
    const spec = validateSpec(base);
    assert.equal(spec.mode, 'online');
    assert.deepEqual(spec.batch, { maxRequestsPerFile: 50_000, maxBytesPerFile: 200 * 1024 * 1024, pollIntervalMs: 30_000, completionWindow: '24h', maxSubmissions: 3 });
    assert.throws(() => validateSpec({ ...base, mode: 'batch', batch: { maxRequestsPerFile: 50_001 } }), (error: unknown) => error instanceof SpecError && /batch\.maxRequestsPerFile/.test(error.message));
    assert.throws(() => validateSpec({ ...base, batch: { maxBytesPerFile: 200 * 1024 * 1024 + 1 } }), SpecError);
    assert.throws(() => validateSpec({ ...base, batch: { completionWindow: '48h' } }), SpecError);
    assert.throws(() => validateSpec({ ...base, mode: 'nightly' }), SpecError);
  });

  it('prices batch mode at half the online price, in estimates too, and gives no rate-limit duration', () => {
    const online = priceFor('gpt-4.1-mini');
    assert.ok(online);
    assert.equal(batchDiscount.factor, 0.5);
    assert.deepEqual(priceForMode('gpt-4.1-mini', {}, 'batch'), { inputPerMTok: online.inputPerMTok / 2, outputPerMTok: online.outputPerMTok / 2 });
    assert.deepEqual(priceForMode('mine', { mine: { inputPerMTok: 1, outputPerMTok: 4 } }, 'batch'), { inputPerMTok: 0.5, outputPerMTok: 2 });
    const batchSpec = validateSpec({ ...base, mode: 'batch', limits: { rpm: 100 } });
    const onlineSpec = validateSpec({ ...base, limits: { rpm: 100 } });
    const chosen = (spec: typeof batchSpec) => modelCosts(spec, 1_000_000, 1_000_000).find((model) => model.chosen);
    assert.equal(chosen(batchSpec)?.costUsd, (chosen(onlineSpec)?.costUsd ?? 0) / 2);
    assert.equal(expectedDuration(batchSpec, 100, 1000).seconds, null);
    assert.match(expectedDuration(batchSpec, 100, 1000).note, /24h completion window/);
  });

  it('packs lines as the online path does and cuts files at maxRequestsPerFile', () => {
    const { planner: plan, builder } = planner({ maxRequestsPerFile: 3, maxBytesPerFile: 10_000_000, recordsPerRequest: 4 });
    const file = plan.plan(rows(20));
    assert.equal(file.lines.length, 3);
    assert.ok(file.full);
    assert.deepEqual(file.lines.map((line) => line.records.map((record) => record.key)), [['1', '2', '3', '4'], ['5', '6', '7', '8'], ['9', '10', '11', '12']]);
    // The line's body is exactly what the online path would send for these records.
    const first = rows(4);
    assert.deepEqual(file.lines[0].body, builder.build('gpt-4.1-mini', first.map((row) => ({ key: row.key, json: row.wireJson, tokens: row.tokens })), 4 * 20 + 16));
    const partial = plan.plan(rows(6));
    assert.equal(partial.lines.length, 2);
    assert.equal(partial.full, false, 'room for more: not full');
  });

  it('cuts files before maxBytesPerFile, counting each line with the widest custom_id', () => {
    const { planner: plan, api } = planner({ maxRequestsPerFile: 50_000, maxBytesPerFile: 6000, recordsPerRequest: 2 });
    const file = plan.plan(rows(100));
    assert.ok(file.full);
    assert.ok(file.bytes <= 6000, `${file.bytes} bytes`);
    const written = file.lines.map((line, index) => `${api.encodeLine(`drover-1-${index}`, line.body)}\n`).join('');
    assert.ok(Buffer.byteLength(written) <= file.bytes, 'the file as written is within the planned bytes');
    const oneMore = Buffer.byteLength(api.encodeLine('drover-1-0', file.lines[0].body)) + 1;
    assert.ok(file.bytes + oneMore > 6000 - 200, 'the file was filled close to the limit');
  });

  it('writes OpenAI batch lines: custom_id, POST, /v1/chat/completions and the body', () => {
    const { api } = planner({ maxRequestsPerFile: 1, maxBytesPerFile: 1_000_000, recordsPerRequest: 1 });
    const body = { model: 'gpt-4.1-mini', messages: [{ role: 'user' as const, content: 'hi' }] };
    assert.deepEqual(JSON.parse(api.encodeLine('drover-3-7', body)), { custom_id: 'drover-3-7', method: 'POST', url: '/v1/chat/completions', body });
  });
});
