// The mock's /v1/messages over real HTTP: Anthropic's request checks, error shapes, limits
// and headers, and the seeded 529s.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startMockLlm, type MockLlmServer } from '../../daemon/mockLlm/server';
import type { MockLlmOptionsInput } from '../../daemon/mockLlm/options';

const key = 'sk-ant-api03-mock';
const records = { records: [{ id: 'a', input: 'great service' }, { id: 'b', input: 'awful and slow' }] };
const valid = { model: 'claude-sonnet-4-5', max_tokens: 100, system: 'Judge.', messages: [{ role: 'user', content: JSON.stringify(records) }] };

async function post(mock: MockLlmServer, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${mock.url}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key, 'anthropic-version': '2023-06-01', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, unknown> };
}

async function withMock(options: MockLlmOptionsInput, body: (mock: MockLlmServer) => Promise<void>) {
  const mock = await startMockLlm({ apiKey: key, ...options });
  try {
    await body(mock);
  } finally {
    await mock.close();
  }
}

describe('mock LLM: Anthropic /v1/messages', () => {
  it('answers as the analyst model in an Anthropic message', async () => {
    await withMock({}, async (mock) => {
      const { status, json } = await post(mock, valid);
      assert.equal(status, 200);
      assert.equal(json.type, 'message');
      assert.equal(json.stop_reason, 'end_turn');
      const content = json.content as { type: string; text: string }[];
      assert.deepEqual(JSON.parse(content[0]?.text ?? ''), { results: [{ id: 'a', sentiment: 'positive', score: 75 }, { id: 'b', sentiment: 'negative', score: 17 }] });
      const cut = await post(mock, { ...valid, max_tokens: 5 });
      assert.equal(cut.json.stop_reason, 'max_tokens');
    });
  });

  it("refuses like Anthropic: a wrong key, no version, a bad body, an unknown model, a prompt too long", async () => {
    await withMock({ context: 60 }, async (mock) => {
      const error = (json: Record<string, unknown>) => [json.type, (json.error as { type: string }).type, (json.error as { message: string }).message];
      assert.deepEqual([(await post(mock, valid, { 'x-api-key': 'nope' })).status, ...error((await post(mock, valid, { 'x-api-key': 'nope' })).json)], [401, 'error', 'authentication_error', 'invalid x-api-key']);
      assert.deepEqual(error((await post(mock, valid, { 'anthropic-version': '' })).json), ['error', 'invalid_request_error', 'anthropic-version: header is required']);
      const { max_tokens: _omitted, ...noMax } = valid;
      assert.deepEqual(error((await post(mock, noMax)).json), ['error', 'invalid_request_error', 'max_tokens: Field required']);
      assert.equal((await post(mock, { ...valid, temperature: 1.5 })).status, 400);
      const unknown = await post(mock, { ...valid, model: 'claude-nonexistent' });
      assert.deepEqual([unknown.status, ...error(unknown.json)], [404, 'error', 'not_found_error', 'model: claude-nonexistent']);
      const tooLong = await post(mock, { ...valid, system: 'a long system prompt '.repeat(30) });
      assert.equal(tooLong.status, 400);
      assert.match((tooLong.json.error as { message: string }).message, /^prompt is too long: \d+ tokens > 60 maximum$/);
    });
  });

  it('limits RPM with 429 rate_limit_error, retry-after and anthropic-ratelimit-* headers with RFC 3339 resets', async () => {
    await withMock({ rpm: 2, itpm: 100_000, otpm: 50_000, windowMs: 60_000 }, async (mock) => {
      const first = await post(mock, valid);
      assert.equal(first.headers.get('anthropic-ratelimit-requests-limit'), '2');
      assert.equal(first.headers.get('anthropic-ratelimit-requests-remaining'), '1');
      assert.equal(first.headers.get('anthropic-ratelimit-input-tokens-limit'), '100000');
      assert.equal(first.headers.get('anthropic-ratelimit-output-tokens-limit'), '50000');
      const reset = first.headers.get('anthropic-ratelimit-requests-reset') ?? '';
      assert.match(reset, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      assert.ok(Date.parse(reset) > Date.now() + 50_000, 'the window resets a minute after the request');
      await post(mock, valid);
      const limited = await post(mock, valid);
      assert.equal(limited.status, 429);
      assert.equal((limited.json.error as { type: string }).type, 'rate_limit_error');
      assert.ok(Number(limited.headers.get('retry-after')) >= 50);
      assert.equal(limited.headers.get('anthropic-ratelimit-requests-remaining'), '0');
      assert.equal(mock.stats().rateLimited, 1);
    });
  });

  it('injects 529 overloaded_error at its seeded rate', async () => {
    await withMock({ failOverloaded: 0.2, seed: 11 }, async (mock) => {
      let overloaded = 0;
      for (let index = 0; index < 300; index += 1) {
        const { status, json } = await post(mock, valid);
        if (status === 529) {
          overloaded += 1;
          assert.equal((json.error as { type: string }).type, 'overloaded_error');
        } else assert.equal(status, 200);
      }
      assert.ok(overloaded >= 40 && overloaded <= 80, `${overloaded} of 300`);
      assert.equal(mock.stats().faults.overloaded, overloaded);
    });
  });
});
