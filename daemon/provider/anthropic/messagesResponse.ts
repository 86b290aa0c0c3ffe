// An Anthropic message: its text blocks are the answer, `usage` counts every input token
// (cache reads and writes included), and `stop_reason` says whether it was cut off.
import { z } from 'zod';
import type { ParsedAnswer } from '../providerApi';

export const messageSchema = z
  .object({
    type: z.literal('message'),
    content: z.array(z.object({ type: z.string(), text: z.string().optional() }).loose()),
    stop_reason: z.string().nullable().optional(),
    usage: z
      .object({
        input_tokens: z.number(),
        output_tokens: z.number(),
        cache_creation_input_tokens: z.number().nullable().optional(),
        cache_read_input_tokens: z.number().nullable().optional(),
      })
      .loose()
      .optional(),
  })
  .loose();

export type AnthropicMessage = z.infer<typeof messageSchema>;

export function parseMessage(status: number, json: unknown, text: string): ParsedAnswer {
  const parsed = messageSchema.safeParse(json);
  if (!parsed.success) {
    const what = json === undefined ? 'is not JSON' : 'is not a message';
    return { ok: false, errorClass: 'bad_response', category: 'retry', message: `HTTP ${status} but the body ${what}: ${text.slice(0, 160)}`, usage: null };
  }
  const { content, stop_reason: stopReason, usage: raw } = parsed.data;
  const usage = raw
    ? {
        promptTokens: raw.input_tokens + (raw.cache_creation_input_tokens ?? 0) + (raw.cache_read_input_tokens ?? 0),
        completionTokens: raw.output_tokens,
      }
    : null;
  const answer = content.map((block) => (block.type === 'text' ? (block.text ?? '') : '')).join('');
  if (stopReason === 'max_tokens') {
    return { ok: false, errorClass: 'truncated', category: 'split', message: 'the answer was cut off at max_tokens (stop_reason "max_tokens")', usage };
  }
  if (stopReason === 'refusal') {
    return { ok: false, errorClass: 'content_filter', category: 'split', message: 'the model declined to answer (stop_reason "refusal")', usage };
  }
  return { ok: true, content: answer, finishReason: stopReason ?? null, usage };
}
