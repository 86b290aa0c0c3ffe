// Batch mode's pure parts: the spec's batch settings, the batch price, and how waiting
// records become the lines of files within both limits.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BatchFileWriter } from '../../daemon/batch/batchFileWriter';
import { OpenAiBatchApi } from '../../daemon/batch/openAiBatchApi';
import { batchDiscount, priceFor, priceForMode } from '../../daemon/cost/prices';
import { expectedDuration, modelCosts } from '../../daemon/estimate/estimateJob';
import type { BatchLedger } from '../../daemon/ledger/batchLedger';
import { Ledger } from '../../daemon/ledger/ledger';
import { RequestBuilder, wireItem } from '../../daemon/pipeline/requestBuilder';
import { SpecError, validateSpec } from '../../daemon/spec/loadSpec';
import { tokenizerFor } from '../../daemon/tokens/tokenizer';

const base = { name: 'b', source: { type: 'file', path: '/tmp/x.jsonl' }, prompt: { template: '{{text}}' } };

interface Staged {
  ledger: Ledger;
  batches: BatchLedger;
  builder: RequestBuilder;
  api: OpenAiBatchApi;
  writer: BatchFileWriter;
  path: string;
}

/** A ledger in a temporary folder with `count` records waiting, and a writer with these limits. */
async function withStaged(count: number, limits: { maxRequestsPerFile: number; maxBytesPerFile: number; recordsPerRequest: number }, body: (staged: Staged) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'drover-batch-parts-'));
  const ledger = Ledger.open(dir, 'parts');
  try {
    const spec = validateSpec(base);
    const tokenizer = tokenizerFor(spec.model);
    const batches = ledger.batches();
    batches.stage(
      Array.from({ length: count }, (_, index) => {
        const wire = wireItem(String(index + 1), `Great product, fast delivery. ${index}`, tokenizer);
        return { key: wire.key, ordinal: index + 1, inputHash: `h${index}`, wireJson: wire.json, tokens: wire.tokens };
      }),
    );
    const builder = new RequestBuilder(spec, tokenizer);
    const api = new OpenAiBatchApi({ baseUrl: 'http://127.0.0.1:1/v1', headers: {}, apiKey: undefined }, 1000);
    const writer = new BatchFileWriter({
      builder,
      model: spec.model,
      price: priceFor(spec.model),
      maxOutputTokens: (records) => 20 * records + 16,
      encodeLine: (id, line) => api.encodeLine(id, line),
      limits: { ...limits, maxPromptTokens: 6000 },
    });
    await body({ ledger, batches, builder, api, writer, path: join(dir, 'input.jsonl') });
  } finally {
    ledger.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function fileLines(path: string): Promise<{ custom_id: string; body: { messages: { content: string }[] } }[]> {
  return (await readFile(path, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { custom_id: string; body: { messages: { content: string }[] } });
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

  it('packs lines as the online path does, assigns their records and cuts files at maxRequestsPerFile', async () => {
    await withStaged(20, { maxRequestsPerFile: 3, maxBytesPerFile: 10_000_000, recordsPerRequest: 4 }, async ({ batches, builder, writer, path }) => {
      const id = batches.openSubmission();
      const file = await writer.write(path, id, batches, 3);
      assert.deepEqual([file.lines, file.records], [3, 12]);
      const lines = await fileLines(path);
      assert.deepEqual(lines.map((line) => line.custom_id), [`drover-${id}-0`, `drover-${id}-1`, `drover-${id}-2`]);
      assert.deepEqual(batches.lineRecords(id, `drover-${id}-1`).map((record) => record.key), ['5', '6', '7', '8']);
      // The line's body is exactly what the online path would send for these records.
      const first = batches.lineRecords(id, `drover-${id}-0`).map((record) => ({ key: record.key, json: record.wireJson, tokens: record.tokens }));
      assert.deepEqual(lines[0].body, builder.build('gpt-4.1-mini', first, 4 * 20 + 16));
      assert.equal(batches.eligibleCount(3), 8, 'the rest waits for the next file');
      assert.ok(file.worstCaseUsd > 0);
    });
  });

  it('cuts files before maxBytesPerFile; the next file takes the rest', async () => {
    await withStaged(100, { maxRequestsPerFile: 50_000, maxBytesPerFile: 6000, recordsPerRequest: 2 }, async ({ batches, writer, path }) => {
      const first = await writer.write(path, batches.openSubmission(), batches, 3);
      const size = (await stat(path)).size;
      assert.equal(size, first.bytes);
      assert.ok(size <= 6000 && size > 6000 - 400, `${size} bytes`);
      const second = await writer.write(`${path}.2`, batches.openSubmission(), batches, 3);
      assert.ok(second.bytes <= 6000);
      assert.equal(batches.eligibleCount(3), 100 - first.records - second.records);
      const keys = (await fileLines(`${path}.2`)).flatMap((line) => (JSON.parse(line.body.messages[1].content) as { records: { id: string }[] }).records.map((record) => record.id));
      assert.equal(keys[0], String(first.records + 1), 'in read order, nothing skipped');
    });
  });

  it('writes OpenAI batch lines: custom_id, POST, /v1/chat/completions and the body', () => {
    const api = new OpenAiBatchApi({ baseUrl: 'http://127.0.0.1:1/v1', headers: {}, apiKey: undefined }, 1000);
    const body = { model: 'gpt-4.1-mini', messages: [{ role: 'user' as const, content: 'hi' }] };
    assert.deepEqual(JSON.parse(api.encodeLine('drover-3-7', body)), { custom_id: 'drover-3-7', method: 'POST', url: '/v1/chat/completions', body });
  });
});
