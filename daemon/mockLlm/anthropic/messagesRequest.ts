// The Messages API request body, checked the way Anthropic checks it: max_tokens is
// required, temperature runs from 0 to 1, and problems are named `field: what is wrong`.
import { z } from 'zod';
import { type AnthropicError, anthropicInvalidRequest } from './anthropicErrors';

const textBlockSchema = z.object({ type: z.literal('text'), text: z.string() }).loose();
const contentSchema = z.union([z.string(), z.array(textBlockSchema).min(1)]);

export const messagesRequestSchema = z
  .object({
    model: z.string().min(1),
    max_tokens: z.number().int().min(1),
    system: contentSchema.optional(),
    messages: z.array(z.object({ role: z.enum(['user', 'assistant']), content: contentSchema }).loose()).min(1),
    temperature: z.number().min(0).max(1).optional(),
    stream: z.boolean().optional(),
  })
  .loose();

export type MessagesRequest = z.infer<typeof messagesRequestSchema>;

export function contentText(content: MessagesRequest['system']): string {
  if (content === undefined) return '';
  return typeof content === 'string' ? content : content.map((block) => block.text).join('');
}

export function parseMessagesRequest(body: unknown): MessagesRequest | AnthropicError {
  const parsed = messagesRequestSchema.safeParse(body);
  if (parsed.success) {
    if (parsed.data.stream) return anthropicInvalidRequest('stream: the mock does not stream messages');
    if (parsed.data.messages[0]?.role !== 'user') return anthropicInvalidRequest('messages: the first message must use the "user" role');
    return parsed.data;
  }
  const issue = parsed.error.issues[0];
  const field = issue?.path.map(String).join('.') || 'body';
  const missing = issue !== undefined && valueAt(body, issue.path) === undefined;
  return anthropicInvalidRequest(`${field}: ${missing ? 'Field required' : (issue?.message ?? 'invalid')}`);
}

function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let value = body;
  for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}
