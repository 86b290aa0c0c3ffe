// The Message Batches client against the mock's /v1/messages/batches: create, poll,
// stream the results (succeeded, errored and expired lines), cancel, and the errors.
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { analyseSentiment } from '../../daemon/mockLlm/analyst';
import { startMockLlm, type MockLlmServer } from '../../daemon/mockLlm/server';
import type { MockLlmOptionsInput } from '../../daemon/mockLlm/options';
import { MessageBatchError, MessageBatchesClient, type BatchRequest, type BatchResultLine, type MessageBatch } from '../../daemon/provider/anthropic/messageBatches';

const key = 'sk-ant-api03-batch-key';

function request(index: number, model = 'claude-haiku-4-5'): BatchRequest {
  const records = [{ id: `r${index}`, input: index % 2 === 0 ? 'great and helpful' : 'slow and broken' }];
  return { custom_id: `req-${index}`, params: { model, max_tokens: 200, system: 'Judge the sentiment.', messages: [{ role: 'user', content: JSON.stringify({ records }) }] } };
}

async function withMock(options: MockLlmOptionsInput, body: (mock: MockLlmServer, client: MessageBatchesClient) => Promise<void>) {
  const mock = await startMockLlm({ apiKey: key, ...options });
  try {
    await body(mock, new MessageBatchesClient({ baseUrl: mock.url, headers: {}, apiKey: key }));
  } finally {
    await mock.close();
  }
}

async function untilEnded(client: MessageBatchesClient, id: string): Promise<MessageBatch> {
  for (let polls = 0; polls < 200; polls += 1) {
    const batch = await client.retrieve(id);
    if (batch.processing_status === 'ended') return batch;
    await delay(25);
  }
  throw new Error(`batch ${id} never ended`);
}

async function collect(lines: AsyncIterable<BatchResultLine>): Promise<BatchResultLine[]> {
  const all: BatchResultLine[] = [];
  for await (const line of lines) all.push(line);
  return all;
}

describe('Anthropic Message Batches client against the mock', () => {
  it('creates a batch, polls it to the end and streams every line: succeeded, errored and expired', async () => {
    await withMock({ batchProcessingMs: 150, batchExpire: 0.1, seed: 3 }, async (_mock, client) => {
      const requests = Array.from({ length: 200 }, (_, index) => request(index, index % 50 === 7 ? 'claude-unknown-9' : 'claude-haiku-4-5'));
      const created = await client.create(requests);
      assert.equal(created.processing_status, 'in_progress');
      assert.equal(created.request_counts.processing, 200);
      assert.equal(created.results_url, null);
      await assert.rejects(collect(client.results(created.id)), (error: unknown) => error instanceof MessageBatchError && error.error.errorClass === 'batch_not_ended');

      const ended = await untilEnded(client, created.id);
      const counts = ended.request_counts;
      assert.equal(counts.processing, 0);
      assert.equal(counts.succeeded + counts.errored + counts.expired + counts.canceled, 200);
      assert.ok(counts.expired > 0 && counts.errored > 0, JSON.stringify(counts));
      assert.match(ended.results_url ?? '', /\/v1\/messages\/batches\/msgbatch_[^/]+\/results$/);

      const lines = await collect(client.results(created.id));
      assert.deepEqual(lines.map((line) => line.custom_id).sort(), requests.map((entry) => entry.custom_id).sort(), 'one line per request');
      for (const line of lines) {
        const index = Number(line.custom_id.slice('req-'.length));
        const { result } = line;
        if (result.type === 'succeeded') {
          const text = result.message.content.map((block) => block.text ?? '').join('');
          const answer = JSON.parse(text) as { results: { id: string; sentiment: string; score: number }[] };
          const expected = analyseSentiment(index % 2 === 0 ? 'great and helpful' : 'slow and broken');
          assert.deepEqual(answer.results, [{ id: `r${index}`, ...expected }], line.custom_id);
          assert.ok((result.message.usage?.input_tokens ?? 0) > 0);
        } else if (result.type === 'errored') {
          assert.equal(index % 50, 7, `${line.custom_id} errored`);
          assert.deepEqual(result.error.error, { type: 'not_found_error', message: 'model: claude-unknown-9' });
        } else {
          assert.equal(result.type, 'expired', line.custom_id);
        }
      }
      assert.equal(lines.filter((line) => line.result.type === 'errored').length, counts.errored);
      assert.equal(lines.filter((line) => line.result.type === 'expired').length, counts.expired);
    });
  });

  it('cancels a batch in progress: canceling at once, then ended with the unprocessed requests canceled', async () => {
    await withMock({ batchProcessingMs: 60_000 }, async (_mock, client) => {
      const created = await client.create(Array.from({ length: 30 }, (_, index) => request(index)));
      const canceling = await client.cancel(created.id);
      assert.equal(canceling.processing_status, 'canceling');
      assert.ok(canceling.cancel_initiated_at !== null);
      const ended = await untilEnded(client, created.id);
      assert.equal(ended.request_counts.canceled, 30);
      const lines = await collect(client.results(created.id));
      assert.equal(lines.length, 30);
      assert.ok(lines.every((line) => line.result.type === 'canceled'));
    });
  });

  it('stops reading early, and the results can be read again in full', async () => {
    await withMock({ batchProcessingMs: 0 }, async (_mock, client) => {
      const created = await client.create(Array.from({ length: 500 }, (_, index) => request(index)));
      await untilEnded(client, created.id);
      let read = 0;
      for await (const line of client.results(created.id)) {
        assert.equal(line.result.type, 'succeeded');
        if (++read === 3) break;
      }
      assert.equal((await collect(client.results(created.id))).length, 500, 'the results can be read again in full');
    });
  });

  it('classifies refusals like online calls, with the key never in the message', async () => {
    await withMock({}, async (mock) => {
      const wrong = new MessageBatchesClient({ baseUrl: mock.url, headers: {}, apiKey: 'sk-ant-api03-wrong' });
      await assert.rejects(wrong.create([request(1)]), (error: unknown) => error instanceof MessageBatchError && error.error.category === 'fatal' && error.error.errorClass === 'auth' && !error.message.includes('sk-ant-api03-wrong'));
      const client = new MessageBatchesClient({ baseUrl: mock.url, headers: {}, apiKey: key });
      await assert.rejects(client.retrieve('msgbatch_missing'), (error: unknown) => error instanceof MessageBatchError && error.error.status === 404 && error.error.category === 'fatal');
      await assert.rejects(client.create([request(1), request(1)]), /used more than once/);
    });
  });
});
