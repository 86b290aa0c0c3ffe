// A packed request as an Anthropic Messages API body. The system prompt (which already
// carries the answer's JSON Schema) becomes `system`; the records are the one user turn.
// Anthropic has no response_format without tools, so none is sent: the answer is read from
// the text, fences and all (answerParser). The assistant turn is not prefilled with "{":
// prefilling is refused with extended or adaptive thinking, on by default on newer Claude
// models, and the schema in the system prompt is enough for the answers Drover asks for.
import type { ChatRequestBody } from '../../pipeline/requestBuilder';

export interface MessagesBody {
  model: string;
  system?: string;
  max_tokens: number;
  messages: { role: 'user' | 'assistant'; content: string }[];
  temperature?: number;
}

/** Anthropic requires max_tokens; this is the fallback when a request names none. */
const defaultMaxTokens = 4096;

export function messagesBody(request: ChatRequestBody): MessagesBody {
  const system = request.messages.filter((message) => message.role === 'system').map((message) => message.content);
  const body: MessagesBody = {
    model: request.model,
    max_tokens: request.max_tokens ?? request.max_completion_tokens ?? defaultMaxTokens,
    messages: request.messages
      .filter((message) => message.role !== 'system')
      .map((message) => ({ role: message.role === 'assistant' ? 'assistant' : 'user', content: message.content })),
  };
  if (system.length > 0) body.system = system.join('\n\n');
  if (request.temperature !== undefined) body.temperature = request.temperature;
  return body;
}
