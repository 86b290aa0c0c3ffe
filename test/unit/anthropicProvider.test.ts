import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchDiscount, batchPrice, priceFor } from '../../daemon/cost/prices';
import { RequestBuilder } from '../../daemon/pipeline/requestBuilder';
import { classifyAnthropicError } from '../../daemon/provider/anthropic/anthropicErrors';
import { msUntilTimestamp, readAnthropicRateLimitHeaders } from '../../daemon/provider/anthropic/anthropicRateLimits';
import { checkBatch } from '../../daemon/provider/anthropic/messageBatches';
import { messagesBody } from '../../daemon/provider/anthropic/messagesBody';
import { parseMessage } from '../../daemon/provider/anthropic/messagesResponse';
import type { RateLimitSnapshot } from '../../daemon/provider/rateLimitHeaders';
import { jobSpecJsonSchema } from '../../daemon/spec/jsonSchema';
import { SpecError, validateSpec } from '../../daemon/spec/loadSpec';
import { tokenizerFor } from '../../daemon/tokens/tokenizer';

const now = Date.parse('2026-12-03T10:00:00Z');
const headersOf = (values: Record<string, string>) => (name: string) => values[name];
const anthropicError = (type: string, message: string) => ({ type: 'error', error: { type, message } });

const minimalSpec = {
  name: 'claude-job',
  source: { type: 'file', path: 'in.jsonl' },
  prompt: { template: '{{text}}' },
  model: 'claude-sonnet-4-5',
};

describe('Anthropic rate-limit headers', () => {
  it('reads requests, input and output tokens with RFC 3339 resets', () => {
    const snapshot: RateLimitSnapshot = readAnthropicRateLimitHeaders(
      headersOf({
        'anthropic-ratelimit-requests-limit': '4000',
        'anthropic-ratelimit-requests-remaining': '3999',
        'anthropic-ratelimit-requests-reset': '2026-12-03T10:00:00.015Z',
        'anthropic-ratelimit-input-tokens-limit': '2000000',
        'anthropic-ratelimit-input-tokens-remaining': '1998500',
        'anthropic-ratelimit-input-tokens-reset': '2026-12-03T10:00:02Z',
        'anthropic-ratelimit-output-tokens-limit': '400000',
        'anthropic-ratelimit-output-tokens-remaining': '399800',
        'anthropic-ratelimit-output-tokens-reset': '2026-12-03T10:00:01+00:00',
        'anthropic-ratelimit-tokens-limit': '400000',
        'anthropic-ratelimit-tokens-remaining': '399800',
        'anthropic-ratelimit-tokens-reset': '2026-12-03T11:00:01+01:00',
      }),
      now,
    );
    // The combined tokens-* limit is not a bucket of prompt + output: it is not taken as one.
    assert.equal(snapshot.limitTokens, undefined);
    assert.deepEqual(snapshot, {
      limitRequests: 4000,
      remainingRequests: 3999,
      resetRequestsMs: 15,
      limitInputTokens: 2_000_000,
      remainingInputTokens: 1_998_500,
      resetInputTokensMs: 2000,
      limitOutputTokens: 400_000,
      remainingOutputTokens: 399_800,
      resetOutputTokensMs: 1000,
      resetTokensMs: 1000,
    });
  });

  it('ignores odd values, and a reset already passed is 0', () => {
    const snapshot = readAnthropicRateLimitHeaders(
      headersOf({
        'anthropic-ratelimit-requests-limit': 'abc',
        'anthropic-ratelimit-requests-remaining': '-1',
        'anthropic-ratelimit-requests-reset': 'soon',
        'anthropic-ratelimit-input-tokens-reset': '1733220000',
        'anthropic-ratelimit-output-tokens-reset': '2026-12-03T09:59:00Z',
      }),
      now,
    );
    assert.equal(snapshot.limitRequests, undefined);
    assert.equal(snapshot.remainingRequests, undefined);
    assert.equal(snapshot.resetRequestsMs, undefined);
    assert.equal(snapshot.resetInputTokensMs, undefined, 'a bare number is not an RFC 3339 timestamp');
    assert.equal(snapshot.resetOutputTokensMs, 0);
    assert.equal(msUntilTimestamp('2026-12-03 10:00:05', now), undefined, 'RFC 3339 needs the T and a zone');
  });
});

describe('Anthropic errors', () => {
  const classify = (status: number, type: string, message: string) => classifyAnthropicError(status, anthropicError(type, message), '', 'https://api.anthropic.com/v1');

  it('a bad key or missing permission pauses the job; an unknown model too', () => {
    const auth = classify(401, 'authentication_error', 'invalid x-api-key');
    assert.equal(auth.category, 'fatal');
    assert.equal(auth.errorClass, 'auth');
    assert.match(auth.message, /Anthropic rejected the API key.*ANTHROPIC_API_KEY/);
    assert.equal(classify(403, 'permission_error', 'Your API key does not have permission to use the specified resource.').category, 'fatal');
    const model = classify(404, 'not_found_error', 'model: claude-sonnet-9');
    assert.deepEqual([model.errorClass, model.category], ['unknown_model', 'fatal']);
    assert.match(model.message, /Fix "model"/);
    assert.equal(classify(400, 'invalid_request_error', 'Your credit balance is too low to access the Anthropic API.').category, 'fatal');
  });

  it('a prompt too long splits; other bad requests split as bad requests', () => {
    const tooLong = classify(400, 'invalid_request_error', 'prompt is too long: 215000 tokens > 200000 maximum');
    assert.deepEqual([tooLong.errorClass, tooLong.category], ['context_length', 'split']);
    const exceeds = classify(400, 'invalid_request_error', 'input length and `max_tokens` exceed context limit: 190000 + 20000 > 200000, decrease input length or `max_tokens` and try again');
    assert.deepEqual([exceeds.errorClass, exceeds.category], ['context_length', 'split']);
    assert.deepEqual(
      [classify(400, 'invalid_request_error', 'temperature: Input should be less than or equal to 1').errorClass, classify(400, 'invalid_request_error', 'x').category],
      ['bad_request', 'split'],
    );
  });

  it('429 is a rate limit, 529 overload is back-pressure, 500 is retried', () => {
    assert.deepEqual(Object.values(pick(classify(429, 'rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'))), ['rate_limited', 'retry']);
    assert.deepEqual(Object.values(pick(classify(529, 'overloaded_error', 'Overloaded'))), ['overloaded', 'retry']);
    assert.deepEqual(Object.values(pick(classify(500, 'api_error', 'Internal server error'))), ['http_500', 'retry']);
  });
});

function pick(error: { errorClass: string; category: string }) {
  return { errorClass: error.errorClass, category: error.category };
}

describe('the Messages API body and answer', () => {
  it('sends the system prompt (with the schema in it) as system, the records as the user turn, and no response_format', () => {
    const spec = validateSpec({ ...minimalSpec, provider: { api: 'anthropic' }, temperature: 0.2 });
    const builder = new RequestBuilder(spec, tokenizerFor(spec.model));
    const chat = builder.build(spec.model, [{ key: '7', json: '{"id":"7","input":"great"}', tokens: 8 }], 300);
    const body = messagesBody(chat);
    assert.equal(body.model, 'claude-sonnet-4-5');
    assert.equal(body.max_tokens, 300);
    assert.equal(body.temperature, 0.2);
    assert.match(body.system ?? '', /JSON Schema: \{"type":"object"/);
    assert.deepEqual(body.messages, [{ role: 'user', content: '{"records":[{"id":"7","input":"great"}]}' }]);
    assert.equal('response_format' in body, false);
    assert.equal(tokenizerFor('claude-sonnet-4-5').exact, false, 'Claude tokens are estimated');
  });

  it('reads text blocks and usage (cache tokens included), and max_tokens as a truncation', () => {
    const message = (stopReason: string) => ({
      type: 'message',
      content: [{ type: 'text', text: '{"results":' }, { type: 'text', text: '[]}' }],
      stop_reason: stopReason,
      usage: { input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 50, cache_creation_input_tokens: null },
    });
    assert.deepEqual(parseMessage(200, message('end_turn'), ''), { ok: true, content: '{"results":[]}', finishReason: 'end_turn', usage: { promptTokens: 150, completionTokens: 20 } });
    const cut = parseMessage(200, message('max_tokens'), '');
    assert.equal(cut.ok, false);
    assert.deepEqual(cut.ok ? null : [cut.errorClass, cut.category], ['truncated', 'split']);
    const bad = parseMessage(200, { choices: [] }, '{"choices":[]}');
    assert.deepEqual(bad.ok ? null : [bad.errorClass, bad.category], ['bad_response', 'retry']);
  });
});

describe('provider.api in the spec', () => {
  it('defaults to OpenAI as before', () => {
    const spec = validateSpec(minimalSpec);
    assert.equal(spec.provider.api, 'openai');
    assert.equal(spec.provider.baseUrl, 'https://api.openai.com/v1');
    assert.equal(spec.provider.apiKeyEnv, 'OPENAI_API_KEY');
  });

  it('anthropic brings its own base URL and key variable unless the spec names them', () => {
    const spec = validateSpec({ ...minimalSpec, provider: { api: 'anthropic' } });
    assert.equal(spec.provider.baseUrl, 'https://api.anthropic.com/v1');
    assert.equal(spec.provider.apiKeyEnv, 'ANTHROPIC_API_KEY');
    const own = validateSpec({ ...minimalSpec, provider: { api: 'anthropic', baseUrl: 'https://proxy.example/v1', apiKeyEnv: 'MY_KEY' } });
    assert.equal(own.provider.baseUrl, 'https://proxy.example/v1');
    assert.equal(own.provider.apiKeyEnv, 'MY_KEY');
  });

  it('fallbacks inherit the api, or bring their own with its key variable', () => {
    const spec = validateSpec({
      ...minimalSpec,
      provider: {
        api: 'anthropic',
        apiKeyEnv: 'CLAUDE_KEY',
        fallbacks: [{ baseUrl: 'https://backup.example/v1' }, { baseUrl: 'https://api.openai.com/v1', api: 'openai', model: 'gpt-4.1-mini' }],
      },
    });
    assert.deepEqual(
      spec.provider.fallbacks.map((endpoint) => [endpoint.api, endpoint.apiKeyEnv]),
      [['anthropic', 'CLAUDE_KEY'], ['openai', 'OPENAI_API_KEY']],
    );
    // A parsed spec (as stored in the ledger) parses again to itself.
    assert.deepEqual(validateSpec(JSON.parse(JSON.stringify(spec)) as unknown), spec);
  });

  it('refuses a temperature above 1 for Anthropic, and the JSON Schema offers the api', () => {
    assert.throws(() => validateSpec({ ...minimalSpec, provider: { api: 'anthropic' }, temperature: 1.5 }), (error: unknown) => error instanceof SpecError && /temperature.*0 to 1/.test(error.message));
    assert.equal(validateSpec({ ...minimalSpec, temperature: 1.5 }).temperature, 1.5);
    const provider = (jobSpecJsonSchema().properties as Record<string, { properties: Record<string, { enum?: string[] }> }>).provider;
    assert.deepEqual(provider?.properties.api?.enum, ['openai', 'anthropic']);
  });
});

describe('Claude prices and Message Batches limits', () => {
  it('prices Claude spellings, and a batch at half', () => {
    assert.deepEqual(priceFor('claude-opus-4-5-20251101'), { inputPerMTok: 5, outputPerMTok: 25 });
    assert.deepEqual(priceFor('anthropic/claude-sonnet-4-5'), { inputPerMTok: 3, outputPerMTok: 15 });
    assert.equal(batchDiscount.factor, 0.5);
    assert.deepEqual(batchPrice(priceFor('claude-haiku-4-5')), { inputPerMTok: 0.5, outputPerMTok: 2.5 });
    assert.equal(batchPrice(undefined), undefined);
  });

  it('refuses a batch Anthropic would refuse, before sending it', () => {
    const params = { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user' as const, content: 'hi' }] };
    assert.throws(() => checkBatch([]), /at least one/);
    assert.throws(() => checkBatch(Array.from({ length: 100_001 }, (_, index) => ({ custom_id: `r${index}`, params }))), /at most 100000 requests, not 100001/);
    assert.throws(() => checkBatch([{ custom_id: 'a', params }, { custom_id: 'a', params }]), /used more than once/);
    assert.throws(() => checkBatch([{ custom_id: 'has space', params }]), /1 to 64 letters/);
    assert.throws(() => checkBatch([{ custom_id: 'big', params: { ...params, system: 'x'.repeat(2000) } }], { maxRequests: 10, maxBytes: 1024 }), /over the limit of 1024 bytes/);
    assert.ok(checkBatch([{ custom_id: 'ok', params }]).startsWith('{"requests":['));
  });
});
