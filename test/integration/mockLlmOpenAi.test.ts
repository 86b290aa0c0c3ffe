import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import OpenAI from 'openai';
import { analyseSentiment } from '../../daemon/mockLlm/analyst';
import { defaultMockModels } from '../../daemon/mockLlm/options';
import { type MockLlmServer, startMockLlm } from '../../daemon/mockLlm/server';
import { defaultOutputSchema } from '../../daemon/spec/jobSpec';
import { countChatTokens, tokenizerFor } from '../../daemon/tokens/tokenizer';
import { batchResponseSchema } from '../../daemon/wire/wireFormat';

const apiKey = 'sk-test-0123456789abcdef';

const reviews = [
  { id: 'a-1', input: 'Excellent quality and fast delivery, I recommend it.' },
  { id: 'a-2', input: 'The handle broke after a day. Useless and expensive.' },
  { id: 'a-3', input: '届いた商品は素晴らしい。とても満足しています。' },
  { id: 'a-4', input: 'Package arrived on Tuesday.' },
];
const batchMessage = JSON.stringify({ records: reviews });

function parseContent(content: string | null | undefined): { results: Record<string, unknown>[] } {
  assert.equal(typeof content, 'string');
  return JSON.parse(content!) as { results: Record<string, unknown>[] };
}

const schemas: Record<string, Record<string, unknown>> = {
  sentiment: { ...defaultOutputSchema },
  classification: {
    type: 'object',
    properties: {
      topic: { type: 'string', enum: ['delivery', 'quality', 'price', 'other'] },
      sentiment: { type: 'string', enum: ['positive', 'negative', 'neutral'] },
      rating: { type: 'integer', minimum: 1, maximum: 5 },
    },
    required: ['topic', 'sentiment', 'rating'],
    additionalProperties: false,
  },
  extraction: {
    type: 'object',
    properties: {
      product: {
        type: 'object',
        properties: { name: { type: 'string', maxLength: 16 }, defects: { type: 'array', items: { type: 'string' } } },
        required: ['name', 'defects'],
        additionalProperties: false,
      },
      wouldBuyAgain: { type: 'boolean' },
      confidence: { type: 'number', minimum: 0, maximum: 1 },
      quote: { type: ['string', 'null'], minLength: 3, maxLength: 30 },
    },
    required: ['product', 'wouldBuyAgain', 'confidence', 'quote'],
    additionalProperties: false,
  },
};

describe('mock LLM with the official openai client', () => {
  let mock: MockLlmServer;
  let client: OpenAI;

  before(async () => {
    mock = await startMockLlm({ apiKey, rpm: 10_000, tpm: 10_000_000, context: 8000 });
    client = new OpenAI({ baseURL: mock.url, apiKey, maxRetries: 0 });
  });
  after(() => mock.close());

  it('answers plain text as one record "1", with real usage and OpenAI ids', async () => {
    const messages = [
      { role: 'system' as const, content: 'You analyse feedback.' },
      { role: 'user' as const, content: 'I love it, the best purchase this year.' },
    ];
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4.1-mini', messages }).withResponse();
    assert.match(data.id, /^chatcmpl-/);
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.model, 'gpt-4.1-mini');
    assert.ok(data.system_fingerprint);
    assert.ok(Math.abs(data.created - Date.now() / 1000) < 60);
    const [choice] = data.choices;
    assert.equal(choice?.finish_reason, 'stop');
    assert.equal(choice?.message.role, 'assistant');
    assert.deepEqual(parseContent(choice?.message.content), {
      results: [{ id: '1', ...analyseSentiment(messages[1].content) }],
    });
    const tokenizer = tokenizerFor('gpt-4.1-mini');
    assert.equal(data.usage?.prompt_tokens, countChatTokens(tokenizer, messages));
    assert.equal(data.usage?.completion_tokens, tokenizer.count(choice.message.content!));
    assert.equal(data.usage?.total_tokens, data.usage.prompt_tokens + data.usage.completion_tokens);
    assert.equal(response.headers.get('x-ratelimit-limit-requests'), '10000');
    assert.ok(response.headers.get('x-request-id'));
  });

  it('answers every record of the wire format by id, in order', async () => {
    const data = await client.chat.completions.create({
      model: 'mock-analyst',
      messages: [{ role: 'user', content: batchMessage }],
    });
    assert.deepEqual(
      parseContent(data.choices[0]?.message.content).results,
      reviews.map((review) => ({ id: review.id, ...analyseSentiment(review.input) })),
    );
  });

  it('streams role, content deltas, the finish reason and the usage chunk, then [DONE]', async () => {
    const request = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: batchMessage }] };
    const plain = await client.chat.completions.create(request);
    const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.ok(chunks.length >= 4);
    assert.equal(chunks[0]?.choices[0]?.delta.role, 'assistant');
    assert.ok(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.id === chunks[0]?.id));
    const content = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    assert.equal(content, plain.choices[0]?.message.content);
    const finishes = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.finish_reason).filter(Boolean));
    assert.deepEqual(finishes, ['stop']);
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, plain.usage);
    assert.ok(chunks.slice(0, -1).every((chunk) => chunk.usage === null));

    const withoutUsage = await client.chat.completions.create({ ...request, stream: true });
    const plainChunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of withoutUsage) plainChunks.push(chunk);
    assert.ok(plainChunks.every((chunk) => chunk.usage === undefined && chunk.choices.length === 1));
  });

  it('lists and retrieves models, and 404s an unknown one', async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    assert.deepEqual(ids, [...defaultMockModels]);
    assert.equal((await client.models.retrieve('gpt-5-nano')).id, 'gpt-5-nano');
    await assert.rejects(client.models.retrieve('gpt-9'), (error: unknown) => {
      assert.ok(error instanceof OpenAI.NotFoundError);
      assert.equal(error.code, 'model_not_found');
      return true;
    });
  });

  for (const [name, output] of Object.entries(schemas)) {
    it(`answers json_schema "${name}" with an object that validates against it`, async () => {
      const schema = batchResponseSchema(output);
      const data = await client.chat.completions.create({
        model: 'gpt-4.1',
        messages: [
          { role: 'system', content: 'Answer for every record.' },
          { role: 'user', content: batchMessage },
        ],
        response_format: { type: 'json_schema', json_schema: { name, schema, strict: true } },
      });
      const answer = parseContent(data.choices[0]?.message.content);
      const validate = new Ajv({ strict: true }).compile(schema);
      assert.ok(validate(answer), JSON.stringify(validate.errors));
      assert.deepEqual(
        answer.results.map((item) => item.id),
        reviews.map((review) => review.id),
      );
      if ('sentiment' in (output.properties as object)) {
        assert.deepEqual(
          answer.results.map((item) => item.sentiment),
          reviews.map((review) => analyseSentiment(review.input).sentiment),
        );
      }
    });
  }

  it('answers json_object with the sentiment fields per record', async () => {
    const data = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: batchMessage }],
      response_format: { type: 'json_object' },
    });
    assert.deepEqual(
      parseContent(data.choices[0]?.message.content).results,
      reviews.map((review) => ({ id: review.id, ...analyseSentiment(review.input) })),
    );
  });

  it('stops at max_tokens (or max_completion_tokens) with finish_reason "length"', async () => {
    for (const limit of [{ max_tokens: 5 }, { max_completion_tokens: 7 }]) {
      const data = await client.chat.completions.create({
        model: 'gpt-5-mini',
        messages: [{ role: 'user', content: batchMessage }],
        ...limit,
      });
      const cap = limit.max_tokens ?? limit.max_completion_tokens;
      assert.equal(data.choices[0]?.finish_reason, 'length');
      assert.equal(data.usage?.completion_tokens, cap);
      assert.throws(() => JSON.parse(data.choices[0].message.content!) as unknown);
    }
  });
});

describe('mock LLM stats', () => {
  it('counts requests by status, tokens, records answered and answers per record; reset zeroes them', async () => {
    const mock = await startMockLlm();
    try {
      const client = new OpenAI({ baseURL: mock.url, apiKey: 'k', maxRetries: 0 });
      const first = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: batchMessage }] });
      const second = await client.chat.completions.create({
        model: 'gpt-4.1',
        messages: [{ role: 'user', content: JSON.stringify({ records: reviews.slice(0, 2) }) }],
      });
      await assert.rejects(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }));
      const stats = (await (await fetch(mock.url.replace(/\/v1$/, '/stats'))).json()) as ReturnType<MockLlmServer['stats']>;
      assert.deepEqual(stats.requests, { total: 3, byStatus: { 200: 2, 404: 1 } });
      assert.equal(stats.inFlight, 0);
      assert.equal(stats.peakInFlight, 1);
      assert.equal(stats.recordsAnswered, reviews.length + 2);
      assert.deepEqual(stats.tokens, {
        prompt: first.usage!.prompt_tokens + second.usage!.prompt_tokens,
        completion: first.usage!.completion_tokens + second.usage!.completion_tokens,
      });
      assert.equal(stats.maxRequestsInWindow, 2);
      assert.equal(stats.windowMs, 60_000);
      const records = (await (await fetch(mock.url.replace(/\/v1$/, '/stats/records'))).json()) as Record<string, number>;
      assert.deepEqual(records, { 'a-1': 2, 'a-2': 2, 'a-3': 1, 'a-4': 1 });
      const reset = await fetch(mock.url.replace(/\/v1$/, '/stats/reset'), { method: 'POST' });
      assert.equal(reset.status, 200);
      assert.deepEqual(mock.stats().requests, { total: 0, byStatus: {} });
      assert.deepEqual(mock.recordCounts(), {});
    } finally {
      await mock.close();
    }
  });

  it('waits --latency-ms (± jitter) before answering', async () => {
    const mock = await startMockLlm({ latencyMs: 150, jitter: 0.2, seed: 1 });
    try {
      const client = new OpenAI({ baseURL: mock.url, apiKey: 'k', maxRetries: 0 });
      const started = performance.now();
      await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] });
      assert.ok(performance.now() - started >= 150 * 0.8 - 1, 'no sooner than the latency less the jitter');
    } finally {
      await mock.close();
    }
  });
});
