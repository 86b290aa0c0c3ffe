// The OpenAI chat-completions wire format, which most providers and local servers speak.
import { z } from 'zod';
import { classifyHttpError } from './errorClass';
import type { ParsedAnswer, ProviderApi } from './providerApi';
import { readRateLimitHeaders } from './rateLimitHeaders';

const completionSchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullable().optional(), refusal: z.string().nullable().optional() }).loose(),
        finish_reason: z.string().nullable().optional(),
      }).loose(),
    )
    .min(1),
  usage: z
    .object({ prompt_tokens: z.number(), completion_tokens: z.number().optional() })
    .loose()
    .nullable()
    .optional(),
}).loose();

function parseCompletion(status: number, json: unknown, text: string): ParsedAnswer {
  const parsed = completionSchema.safeParse(json);
  if (!parsed.success) {
    const what = json === undefined ? 'is not JSON' : 'has no choices';
    return { ok: false, errorClass: 'bad_response', category: 'retry', message: `HTTP ${status} but the body ${what}: ${text.slice(0, 160)}`, usage: null };
  }
  const choice = parsed.data.choices[0];
  const usage = parsed.data.usage
    ? { promptTokens: parsed.data.usage.prompt_tokens, completionTokens: parsed.data.usage.completion_tokens ?? 0 }
    : null;
  const finishReason = choice.finish_reason ?? null;
  if (finishReason === 'length') {
    return { ok: false, errorClass: 'truncated', category: 'split', message: 'the answer was cut off at max_tokens (finish_reason "length")', usage };
  }
  if (finishReason === 'content_filter' || (choice.message.refusal && !choice.message.content)) {
    return { ok: false, errorClass: 'content_filter', category: 'split', message: choice.message.refusal ?? 'the provider filtered the answer (finish_reason "content_filter")', usage };
  }
  return { ok: true, content: choice.message.content ?? '', finishReason, usage };
}

export const openAiApi: ProviderApi = {
  path: '/chat/completions',
  headers: (apiKey): Record<string, string> => (apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
  buildBody: (request) => request,
  readRateLimits: readRateLimitHeaders,
  classifyHttpError: (status, json, text, baseUrl) => classifyHttpError(status, json, text, baseUrl),
  parseAnswer: parseCompletion,
};
