// Builds one chat-completions request for a batch of records in Drover's wire format.
import type { JobSpec } from '../spec/jobSpec';
import { countChatTokens, type ChatMessage, type Tokenizer } from '../tokens/tokenizer';
import { batchResponseSchema } from '../wire/wireFormat';
import { isStrictCompatible } from './outputSchema';

export interface WireItem {
  key: string;
  /** `{"id":"<key>","input":"<rendered>"}` — serialised once, when the record is prepared. */
  json: string;
  tokens: number;
}

export interface ChatRequestBody {
  model: string;
  messages: ChatMessage[];
  response_format?: Record<string, unknown>;
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
}

export function wireItem(key: string, input: string, tokenizer: Tokenizer): WireItem {
  const json = JSON.stringify({ id: key, input });
  return { key, json, tokens: tokenizer.count(json) };
}

function responseFormat(mode: JobSpec['provider']['structuredOutput'], output: Record<string, unknown>): Record<string, unknown> | undefined {
  switch (mode) {
    case 'json_schema':
      return { type: 'json_schema', json_schema: { name: 'drover_results', strict: isStrictCompatible(output), schema: batchResponseSchema(output) } };
    case 'json_object':
      return { type: 'json_object' };
    case 'none':
      return undefined;
  }
}

// Reasoning models take max_completion_tokens and refuse max_tokens.
const usesCompletionTokens = (model: string) => /^(o\d|gpt-5)/.test(model.replace(/^.*\//, ''));

export class RequestBuilder {
  private readonly systemMessage: ChatMessage;
  private readonly responseFormat: Record<string, unknown> | undefined;
  /** Tokens of everything but the records: system message, framing, the records wrapper. */
  readonly overheadTokens: number;

  constructor(
    private readonly spec: Pick<JobSpec, 'prompt' | 'output' | 'provider' | 'temperature'>,
    tokenizer: Tokenizer,
  ) {
    const schemaText = JSON.stringify(spec.output);
    this.systemMessage = {
      role: 'system',
      content:
        `${spec.prompt.system}\n\n` +
        'The user message is JSON: {"records":[{"id":…,"input":…}]}. Answer with JSON only: ' +
        '{"results":[…]} with exactly one item per record, in any order, each holding the ' +
        `record's "id" unchanged and the fields of this JSON Schema: ${schemaText}`,
    };
    this.responseFormat = responseFormat(spec.provider.structuredOutput, spec.output);
    this.overheadTokens = countChatTokens(tokenizer, [this.systemMessage, { role: 'user', content: '{"records":[]}' }]);
  }

  /** Prompt tokens of a request holding these items (the sum of parts, as packed). */
  promptTokens(items: readonly WireItem[]): number {
    let total = this.overheadTokens;
    for (const item of items) total += item.tokens;
    return total;
  }

  build(model: string, items: readonly WireItem[], maxOutputTokens: number): ChatRequestBody {
    const body: ChatRequestBody = {
      model,
      messages: [this.systemMessage, { role: 'user', content: `{"records":[${items.map((item) => item.json).join(',')}]}` }],
    };
    if (this.responseFormat) body.response_format = this.responseFormat;
    if (usesCompletionTokens(model)) body.max_completion_tokens = maxOutputTokens;
    else body.max_tokens = maxOutputTokens;
    if (this.spec.temperature !== undefined) body.temperature = this.spec.temperature;
    return body;
  }
}
