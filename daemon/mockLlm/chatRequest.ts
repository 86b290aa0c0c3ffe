// The chat-completions request body: a loose zod schema (OpenAI ignores fields it does not
// use, so do we) and the translation of its first problem into OpenAI's 400 wording.
import { z } from 'zod';
import { type ApiError, invalidRequest } from './errors';

const textPartSchema = z.object({ type: z.literal('text'), text: z.string() }).loose();

const messageSchema = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
    content: z.union([z.string(), z.array(textPartSchema)]),
  })
  .loose();

const tokenLimitSchema = z.number().int().min(1).nullish();

const responseFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }).loose(),
  z.object({ type: z.literal('json_object') }).loose(),
  z
    .object({
      type: z.literal('json_schema'),
      json_schema: z
        .object({
          name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
          description: z.string().optional(),
          schema: z.record(z.string(), z.unknown()).optional(),
          strict: z.boolean().nullish(),
        })
        .loose(),
    })
    .loose(),
]);

export const chatRequestSchema = z
  .object({
    model: z.string().min(1),
    messages: z.array(messageSchema).min(1),
    max_tokens: tokenLimitSchema,
    max_completion_tokens: tokenLimitSchema,
    response_format: responseFormatSchema.nullish(),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().nullish() }).loose().nullish(),
  })
  .loose();

export type ChatRequest = z.infer<typeof chatRequestSchema>;
export type ChatMessageInput = ChatRequest['messages'][number];
export type ResponseFormat = NonNullable<ChatRequest['response_format']>;

/** `messages[0].content`, the way OpenAI names a parameter. */
function paramName(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (name, key) => (typeof key === 'number' ? `${name}[${key}]` : name ? `${name}.${String(key)}` : String(key)),
    '',
  );
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function quoteList(values: readonly unknown[]): string {
  const quoted = values.map((value) => `'${String(value)}'`);
  return quoted.length < 2 ? quoted.join('') : `${quoted.slice(0, -1).join(', ')}, and ${quoted.at(-1)}`;
}

function problemToApiError(issue: z.core.$ZodIssue): ApiError {
  const param = paramName(issue.path);
  if (issue.input === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) {
    return invalidRequest(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
  }
  switch (issue.code) {
    case 'invalid_type':
      return invalidRequest(
        `Invalid type for '${param}': expected ${issue.expected}, but got ${typeOf(issue.input)} instead.`,
        param,
        'invalid_type',
      );
    case 'invalid_value':
      return invalidRequest(
        `Invalid value: '${String(issue.input)}'. Supported values are: ${quoteList(issue.values)}.`,
        param,
        'invalid_value',
      );
    case 'too_small':
      if (issue.origin === 'array') {
        return invalidRequest(
          `Invalid '${param}': empty array. Expected an array with minimum length ${String(issue.minimum)}, ` +
            'but got an empty array instead.',
          param,
          'empty_array',
        );
      }
      return invalidRequest(
        `Invalid '${param}': value below minimum. Expected a value >= ${String(issue.minimum)}, ` +
          `but got ${JSON.stringify(issue.input)} instead.`,
        param,
        issue.origin === 'number' ? 'integer_below_min_value' : 'string_too_short',
      );
    case 'invalid_union': {
      // A discriminated union reports the whole object; name the discriminator's value.
      const discriminator = (issue as { discriminator?: string; options?: unknown[] }).discriminator;
      const options = (issue as { options?: unknown[] }).options;
      if (discriminator && options) {
        const value = (issue.input as Record<string, unknown> | null)?.[discriminator];
        return invalidRequest(
          `Invalid value: '${String(value)}'. Supported values are: ${quoteList(options)}.`,
          param,
          'invalid_value',
        );
      }
      return invalidRequest(`Invalid type for '${param}': got ${typeOf(issue.input)}.`, param, 'invalid_type');
    }
    default:
      return invalidRequest(`Invalid '${param}': ${issue.message}.`, param, 'invalid_value');
  }
}

/** The validated request, or the ApiError OpenAI would answer for its first problem. */
export function parseChatRequest(body: unknown): ChatRequest | ApiError {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return invalidRequest(`Invalid type for request body: expected an object, but got ${typeOf(body)}.`, null);
  }
  const parsed = chatRequestSchema.safeParse(body, { reportInput: true });
  if (!parsed.success) return problemToApiError(parsed.error.issues[0]);
  const request = parsed.data;
  if (request.stream_options && !request.stream) {
    return invalidRequest(
      "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      'stream_options',
      'invalid_value',
    );
  }
  return request;
}

/** The text of a message: a string, or its text parts joined. */
export function messageText(message: ChatMessageInput): string {
  return typeof message.content === 'string' ? message.content : message.content.map((part) => part.text).join('');
}
