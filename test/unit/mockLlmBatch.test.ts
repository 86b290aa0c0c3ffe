// The mock's Batch API, driven by the official openai client: files, batches, their shapes,
// the lifecycle, line failures, expiry, cancel and OpenAI's input limits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { analyseSentiment } from '../../daemon/mockLlm/analyst';
import type { MockLlmOptionsInput } from '../../daemon/mockLlm/options';
import { startMockLlm, type MockLlmServer } from '../../daemon/mockLlm/server';

const reviews = ['Excellent and fast, I recommend it.', 'Broken on arrival. Useless.', 'Package arrived on Tuesday.'];

function line(customId: string, input: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4.1-mini', messages: [{ role: 'user', content: JSON.stringify({ records: [{ id: customId, input }] }) }] },
    ...extra,
  });
}

async function withMock(options: MockLlmOptionsInput, body: (client: OpenAI, mock: MockLlmServer) => Promise<void>) {
  const mock = await startMockLlm({ batchDelayMs: 60, ...options });
  try {
    await body(new OpenAI({ apiKey: 'sk-test', baseURL: mock.url, maxRetries: 0 }), mock);
  } finally {
    await mock.close();
  }
}

async function upload(client: OpenAI, lines: string[], name = 'input.jsonl') {
  return client.files.create({ file: await toFile(Buffer.from(`${lines.join('\n')}\n`), name), purpose: 'batch' });
}

async function finished(client: OpenAI, id: string) {
  for (;;) {
    const batch = await client.batches.retrieve(id);
    if (['completed', 'failed', 'expired', 'cancelled'].includes(batch.status)) return batch;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function linesOf(client: OpenAI, fileId: string | null | undefined): Promise<Record<string, unknown>[]> {
  if (!fileId) return [];
  const text = await (await client.files.content(fileId)).text();
  return text.trim().split('\n').map((row) => JSON.parse(row) as Record<string, unknown>);
}

describe('mock LLM Batch API', () => {
  it('uploads a batch file, runs it validating → in_progress → completed and answers each line like the chat endpoint', async () => {
    await withMock({}, async (client) => {
      const file = await upload(client, reviews.map((text, index) => line(`line-${index}`, text)));
      assert.equal(file.object, 'file');
      assert.equal(file.purpose, 'batch');
      assert.equal((await client.files.retrieve(file.id)).bytes, file.bytes);
      const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
      assert.equal(created.status, 'validating');
      const seen = new Set<string>([created.status]);
      let batch = created;
      while (batch.status !== 'completed') {
        batch = await client.batches.retrieve(created.id);
        seen.add(batch.status);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.ok(seen.has('finalizing') || seen.has('in_progress'), [...seen].join(','));
      assert.deepEqual(batch.request_counts, { total: 3, completed: 3, failed: 0 });
      assert.equal(batch.error_file_id, null);
      const output = await linesOf(client, batch.output_file_id);
      assert.equal(output.length, 3);
      for (const [index, text] of reviews.entries()) {
        const result = output.find((row) => row.custom_id === `line-${index}`) as { response: { status_code: number; body: { choices: { message: { content: string } }[]; usage: { prompt_tokens: number } } } };
        assert.equal(result.response.status_code, 200);
        const answer = JSON.parse(result.response.body.choices[0].message.content) as { results: { id: string; sentiment: string; score: number }[] };
        const expected = analyseSentiment(text);
        assert.deepEqual(answer.results, [{ id: `line-${index}`, sentiment: expected.sentiment, score: expected.score }]);
        assert.ok(result.response.body.usage.prompt_tokens > 0);
      }
      const listed = await client.batches.list({ limit: 10 });
      assert.deepEqual(listed.data.map((item) => item.id), [created.id]);
    });
  });

  it('writes seeded failing lines to the error file with an error object', async () => {
    await withMock({ batchFailLine: 0.5, seed: 11 }, async (client, mock) => {
      const file = await upload(client, Array.from({ length: 40 }, (_, index) => line(`l${index}`, reviews[index % 3])));
      const batch = await finished(client, (await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
      assert.equal(batch.status, 'completed');
      const output = await linesOf(client, batch.output_file_id);
      const errors = await linesOf(client, batch.error_file_id);
      assert.ok(errors.length > 0 && output.length > 0);
      assert.equal(output.length + errors.length, 40);
      assert.deepEqual(batch.request_counts, { total: 40, completed: output.length, failed: errors.length });
      for (const row of errors) {
        assert.equal(row.response, null);
        assert.deepEqual(Object.keys(row.error as object).sort(), ['code', 'message']);
      }
      assert.equal(mock.stats().batches.linesFailed, errors.length);
    });
  });

  it('expires the first batch with half its lines unanswered (batch_expired), then completes the next', async () => {
    await withMock({ batchExpireFirst: 1 }, async (client) => {
      const lines = Array.from({ length: 10 }, (_, index) => line(`l${index}`, reviews[0]));
      const expired = await finished(client, (await client.batches.create({ input_file_id: (await upload(client, lines)).id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
      assert.equal(expired.status, 'expired');
      assert.equal((await linesOf(client, expired.output_file_id)).length, 5);
      const unanswered = await linesOf(client, expired.error_file_id);
      assert.equal(unanswered.length, 5);
      assert.ok(unanswered.every((row) => (row.error as { code: string }).code === 'batch_expired'));
      const next = await finished(client, (await client.batches.create({ input_file_id: (await upload(client, lines)).id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
      assert.equal(next.status, 'completed');
    });
  });

  it('cancels a batch in progress', async () => {
    await withMock({ batchDelayMs: 2000 }, async (client, mock) => {
      const file = await upload(client, [line('a', reviews[0])]);
      const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
      const cancelling = await client.batches.cancel(created.id);
      assert.equal(cancelling.status, 'cancelling');
      assert.equal((await finished(client, created.id)).status, 'cancelled');
      assert.equal(mock.stats().batches.cancelled, 1);
    });
  });

  it('fails validation past the request limit, on bad lines and duplicate custom_ids', async () => {
    await withMock({ batchMaxRequests: 3 }, async (client) => {
      const create = async (lines: string[]) =>
        finished(client, (await client.batches.create({ input_file_id: (await upload(client, lines)).id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
      const tooMany = await create(Array.from({ length: 4 }, (_, index) => line(`l${index}`, 'x')));
      assert.equal(tooMany.status, 'failed');
      assert.equal(tooMany.errors?.data?.[0]?.code, 'too_many_requests');
      const bad = await create([line('a', 'x'), '{not json', line('a', 'y')]);
      assert.equal(bad.status, 'failed');
      assert.deepEqual(bad.errors?.data?.map((error) => [error.code, error.line]), [['invalid_json_line', 2], ['duplicate_custom_id', 3]]);
      const wrongUrl = await create([line('a', 'x', { url: '/v1/embeddings' })]);
      assert.equal(wrongUrl.errors?.data?.[0]?.code, 'mismatched_endpoint');
    });
  });

  it('refuses files over the size limit, other purposes, unknown files and batches with OpenAI-shaped errors', async () => {
    await withMock({ batchMaxFileBytes: 2048 }, async (client) => {
      const big = Array.from({ length: 40 }, (_, index) => line(`l${index}`, 'x'.repeat(40)));
      await assert.rejects(upload(client, big), (error: unknown) => error instanceof OpenAI.BadRequestError && error.code === 'file_too_large');
      await assert.rejects(
        client.files.create({ file: await toFile(Buffer.from(line('a', 'x')), 'a.jsonl'), purpose: 'fine-tune' }),
        (error: unknown) => error instanceof OpenAI.BadRequestError && /purpose/.test(error.message),
      );
      await assert.rejects(client.files.retrieve('file-nope'), (error: unknown) => error instanceof OpenAI.NotFoundError);
      await assert.rejects(client.batches.retrieve('batch_nope'), (error: unknown) => error instanceof OpenAI.NotFoundError);
      await assert.rejects(
        client.batches.create({ input_file_id: 'file-nope', endpoint: '/v1/chat/completions', completion_window: '24h' }),
        (error: unknown) => error instanceof OpenAI.NotFoundError,
      );
    });
  });
});
