// What a chat-completions response means, whether it came over HTTP (the online path) or
// as one line of a batch output file: the answer's content and usage, or a classified
// error. One reading for both, so a batch answer is judged exactly like an online one.
import { z } from 'zod';
import { classifyHttpError, type CallError } from './errorClass';

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export type CompletionOutcome =
  | { ok: true; content: string; finishReason: string | null; usage: Usage | null }
  | (CallError & { ok: false; usage: Usage | null });

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

/** `json` is the parsed body (undefined when it is not JSON); `text` the raw body for messages. */
export function readCompletion(status: number, json: unknown, text: string, baseUrl: string): CompletionOutcome {
  if (status < 200 || status >= 300) {
    return { ok: false, ...classifyHttpError(status, json, text, baseUrl), usage: null };
  }
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
