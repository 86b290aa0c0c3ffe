// What a run killed between the steps of a submission leaves, and how the next run finishes
// it without submitting anything twice: against the real mock Batch API and a real ledger.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BatchFileWriter } from '../../daemon/batch/batchFileWriter';
import { BatchSubmitter } from '../../daemon/batch/batchSubmitter';
import { OpenAiBatchApi } from '../../daemon/batch/openAiBatchApi';
import { customIdOf } from '../../daemon/ledger/batchLedger';
import { Ledger } from '../../daemon/ledger/ledger';
import { Budget } from '../../daemon/limits/budget';
import { startMockLlm } from '../../daemon/mockLlm/server';
import { RequestBuilder, wireItem } from '../../daemon/pipeline/requestBuilder';
import { validateSpec } from '../../daemon/spec/loadSpec';
import { tokenizerFor } from '../../daemon/tokens/tokenizer';

describe('batch submission recovery', () => {
  it('adopts the batch made from an uploaded file, creates the missing one from its file, and undoes one never uploaded', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drover-batch-recovery-'));
    const mock = await startMockLlm({ batchDelayMs: 50 });
    const ledger = Ledger.open(dir, 'recovery');
    try {
      const spec = validateSpec({ name: 'recovery', source: { type: 'file', path: join(dir, 'x.jsonl') }, prompt: { template: '{{text}}' } });
      const tokenizer = tokenizerFor(spec.model);
      const builder = new RequestBuilder(spec, tokenizer);
      const api = new OpenAiBatchApi({ baseUrl: mock.url, headers: {}, apiKey: undefined }, 10_000);
      const batches = ledger.batches();
      const wires = Array.from({ length: 6 }, (_, index) => wireItem(`k${index}`, `text ${index}`, tokenizer));
      batches.stage(wires.map((wire, index) => ({ key: wire.key, ordinal: index + 1, inputHash: `h${index}`, wireJson: wire.json, tokens: wire.tokens })));
      const encode = (customId: string, body: ReturnType<RequestBuilder['build']>) => api.encodeLine(customId, body);
      const uploadLine = async (keys: string[], customId: string) => {
        const path = join(dir, `${customId}.jsonl`);
        const items = wires.filter((wire) => keys.includes(wire.key));
        await writeFile(path, `${encode(customId, builder.build(spec.model, items, 100))}\n`);
        return api.upload(path, AbortSignal.timeout(5000));
      };

      const submission = (keys: string[]) => {
        const id = batches.openSubmission();
        batches.assign(id, [{ customId: customIdOf(id, 0), keys }]);
        batches.setSize(id, 1, keys.length, 0);
        return { id, customId: customIdOf(id, 0) };
      };
      // 1: uploaded and created, but killed before the batch id was saved.
      const first = submission(['k0', 'k1']);
      const firstFile = await uploadLine(['k0', 'k1'], first.customId);
      batches.setInputFile(first.id, firstFile);
      const lost = await api.create(firstFile, '24h', AbortSignal.timeout(5000));
      // 2: uploaded, killed before the batch was created.
      const second = submission(['k2', 'k3']);
      batches.setInputFile(second.id, await uploadLine(['k2', 'k3'], second.customId));
      // 3: saved, killed before anything was uploaded.
      submission(['k4', 'k5']);
      assert.equal(mock.stats().batches.created, 1);

      const writer = new BatchFileWriter({
        builder, model: spec.model, price: undefined, maxOutputTokens: () => 100, encodeLine: encode,
        limits: { maxRequestsPerFile: 10, maxBytesPerFile: 1_000_000, recordsPerRequest: 2, maxPromptTokens: 6000 },
      });
      const submitter = new BatchSubmitter({
        api, batches, writer,
        budget: new Budget(undefined, 0),
        directory: join(dir, 'batch-input'),
        completionWindow: '24h',
        maxSubmissions: 3,
        log: () => undefined,
      });
      await submitter.recover(AbortSignal.timeout(5000));

      const open = batches.openSubmissions();
      assert.deepEqual(open.map((submission) => submission.id), [first.id, second.id], 'the never-uploaded submission was undone');
      assert.equal(open[0].providerBatchId, lost.id, 'the batch created before the crash was adopted');
      assert.ok(open[1].providerBatchId, 'the missing batch was created from the uploaded file');
      const stats = mock.stats().batches;
      assert.equal(stats.created, 2, 'one batch created in recovery, none twice');
      assert.equal(stats.filesUploaded, 2, 'nothing uploaded again');
      const waiting = batches.waiting(3, { ordinal: 0, key: '' }, 100);
      assert.deepEqual(waiting.map((record) => [record.key, record.submissions]), [['k4', 0], ['k5', 0]]);
    } finally {
      ledger.close();
      await mock.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
