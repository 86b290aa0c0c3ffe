import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { type MockLlmServer, startMockLlm } from '../../daemon/mockLlm/server';
import { countChatTokens, tokenizerFor } from '../../daemon/tokens/tokenizer';

const apiKey = 'sk-test-0123456789abcdef';

async function raw(mock: MockLlmServer, path: string, init: RequestInit & { json?: unknown } = {}) {
  const response = await fetch(`${mock.url}${path}`, {
    method: init.method ?? 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...init.headers },
    body: init.json === undefined ? init.body : JSON.stringify(init.json),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

function errorOf(body: Record<string, unknown>) {
  const error = body.error as { message: string; type: string; param: string | null; code: string | null };
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'param', 'type']);
  return error;
}

describe('mock LLM errors, in OpenAI shapes', () => {
  let mock: MockLlmServer;
  const base = { model: 'gpt-4.1', messages: [{ role: 'user', content: 'hello' }] };

  before(async () => {
    mock = await startMockLlm({ apiKey, rpm: 1000, context: 8000 });
  });
  after(() => mock.close());

  it('answers bad request bodies with 400 invalid_request_error naming the parameter', async () => {
    const cases: [unknown, string | null, RegExp][] = [
      [{ messages: base.messages }, 'model', /Missing required parameter: 'model'/],
      [{ model: 'gpt-4.1' }, 'messages', /Missing required parameter: 'messages'/],
      [{ ...base, messages: [] }, 'messages', /empty array/],
      [{ ...base, messages: 'hello' }, 'messages', /Invalid type for 'messages': expected array, but got a string/],
      [{ ...base, messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role', /Invalid value: 'robot'. Supported values are: .*'user'/],
      [{ ...base, messages: [{ role: 'user', content: 'a' }, { role: 'user' }] }, 'messages[1].content', /Missing required parameter: 'messages\[1\].content'/],
      [{ ...base, messages: [{ role: 'user', content: 5 }] }, 'messages[0].content', /Invalid type for 'messages\[0\].content'/],
      [{ ...base, response_format: { type: 'xml' } }, 'response_format.type', /Invalid value: 'xml'. Supported values are: 'text', 'json_object', and 'json_schema'/],
      [{ ...base, response_format: { type: 'json_schema' } }, 'response_format.json_schema', /Missing required parameter/],
      [{ ...base, response_format: { type: 'json_schema', json_schema: { name: 'has space' } } }, 'response_format.json_schema.name', /Invalid/],
      [{ ...base, max_tokens: -5 }, 'max_tokens', /Expected a value >= 1, but got -5/],
      [{ ...base, max_completion_tokens: 0 }, 'max_completion_tokens', /Expected a value >= 1, but got 0/],
      [{ ...base, stream_options: { include_usage: true } }, 'stream_options', /only allowed when 'stream' is enabled/],
      [[1, 2], null, /expected an object, but got an array/],
    ];
    for (const [json, param, message] of cases) {
      const { status, body, headers } = await raw(mock, '/chat/completions', { json });
      assert.equal(status, 400, JSON.stringify(json));
      const error = errorOf(body);
      assert.equal(error.type, 'invalid_request_error');
      assert.equal(error.param, param, JSON.stringify(json));
      assert.match(error.message, message);
      assert.equal(headers.get('x-ratelimit-limit-requests'), '1000', 'limit headers on every response');
    }
    const notJson = await raw(mock, '/chat/completions', { body: '{"model": "gpt-4.1", ' });
    assert.equal(notJson.status, 400);
    assert.match(errorOf(notJson.body).message, /We could not parse the JSON body of your request/);
  });

  it('accepts unknown fields, as OpenAI does', async () => {
    const { status } = await raw(mock, '/chat/completions', { json: { ...base, temperature: 0.2, seed: 1, user: 'u' } });
    assert.equal(status, 200);
  });

  it('401s a wrong or missing key, masking the key it was given', async () => {
    const wrongKey = 'sk-wrong-key-9999999999';
    const client = new OpenAI({ baseURL: mock.url, apiKey: wrongKey, maxRetries: 0 });
    await assert.rejects(client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.AuthenticationError);
      assert.equal(error.code, 'invalid_api_key');
      assert.match(error.message, /Incorrect API key provided: sk-\*+9999/);
      assert.ok(!error.message.includes(wrongKey));
      return true;
    });
    const missing = await raw(mock, '/models', { method: 'GET', headers: { authorization: '' } });
    assert.equal(missing.status, 401);
    assert.match(errorOf(missing.body).message, /You didn't provide an API key/);
  });

  it('404s an unknown model and an unknown route', async () => {
    const model = await raw(mock, '/chat/completions', { json: { ...base, model: 'gpt-9' } });
    assert.equal(model.status, 404);
    assert.equal(errorOf(model.body).code, 'model_not_found');
    assert.match(errorOf(model.body).message, /The model `gpt-9` does not exist/);
    const route = await raw(mock, '/foo', { json: {} });
    assert.equal(route.status, 404);
    assert.equal(errorOf(route.body).message, 'Invalid URL (POST /v1/foo)');
  });

  it('400s context_length_exceeded with the token arithmetic', async () => {
    const { status, body } = await raw(mock, '/chat/completions', { json: { ...base, max_tokens: 8000 } });
    assert.equal(status, 400);
    const error = errorOf(body);
    assert.equal(error.code, 'context_length_exceeded');
    const prompt = countChatTokens(tokenizerFor('gpt-4.1'), [{ role: 'user', content: 'hello' }]);
    assert.equal(
      error.message,
      `This model's maximum context length is 8000 tokens. However, you requested ${8000 + prompt} tokens ` +
        `(${prompt} in the messages, 8000 in the completion). Please reduce the length of the messages or completion.`,
    );
  });

  it('answers insufficient_quota after --quota-after admitted requests', async () => {
    const quota = await startMockLlm({ quotaAfter: 2 });
    try {
      const client = new OpenAI({ baseURL: quota.url, apiKey: 'any', maxRetries: 0 });
      const request = { model: 'gpt-4.1', messages: [{ role: 'user' as const, content: 'hi' }] };
      await client.chat.completions.create(request);
      await client.chat.completions.create(request);
      for (let attempt = 0; attempt < 2; attempt++) {
        await assert.rejects(client.chat.completions.create(request), (error: unknown) => {
          assert.ok(error instanceof OpenAI.RateLimitError);
          assert.equal(error.code, 'insufficient_quota');
          assert.equal(error.type, 'insufficient_quota');
          assert.match(error.message, /You exceeded your current quota/);
          return true;
        });
      }
      assert.deepEqual(quota.stats().requests.byStatus, { 200: 2, 429: 2 });
      assert.equal(quota.stats().rateLimited, 0, 'quota is not a rate limit');
    } finally {
      await quota.close();
    }
  });

  it('sends no x-ratelimit headers when told not to, or when no limit is set', async () => {
    const quiet = await startMockLlm({ rpm: 5, rateLimitHeaders: false });
    const unlimited = await startMockLlm();
    try {
      for (const server of [quiet, unlimited]) {
        const response = await fetch(`${server.url}/chat/completions`, { method: 'POST', body: JSON.stringify(base) });
        assert.equal(response.status, 200);
        assert.deepEqual([...response.headers.keys()].filter((name) => name.startsWith('x-ratelimit')), []);
      }
    } finally {
      await Promise.all([quiet.close(), unlimited.close()]);
    }
  });
});

