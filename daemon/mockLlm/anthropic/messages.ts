// POST /v1/messages: Anthropic's Messages API on the same analyst model as chat
// completions. Checks in Anthropic's order — key and version, body, model, context — then
// the rate limiter, then the seeded faults (529 overloaded among them), then the answer.
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { o200kTokenizer } from '../../tokens/tokenizer';
import { recordsOf } from '../answer';
import { type ResponseFormat } from '../chatRequest';
import { latencyMs } from '../chatCompletions';
import { type Completion, completeAnswer } from '../completion';
import { type FaultDraw } from '../faults';
import { sendJson, sleep } from '../httpIo';
import { type MockContext } from '../mockContext';
import {
  anthropicAuthenticationError,
  anthropicInvalidRequest,
  anthropicModelNotFound,
  anthropicServerError,
  contextExceeded,
  overloaded,
  promptTooLong,
} from './anthropicErrors';
import { messageBody } from './messageShapes';
import { contentText, type MessagesRequest, parseMessagesRequest } from './messagesRequest';
import { formatFromSystemPrompt } from './promptSchema';

/** What a valid request is, before any limit: shared with Message Batches. */
export interface PreparedMessage {
  request: MessagesRequest;
  inputTokens: number;
  format: ResponseFormat | undefined;
}

/** Anthropic's key and version headers; the same for every /v1/messages route. */
export function checkAnthropicHeaders(context: MockContext, request: IncomingMessage): void {
  const { apiKey } = context.options;
  if (apiKey !== undefined && request.headers['x-api-key'] !== apiKey) throw anthropicAuthenticationError();
  if (!request.headers['anthropic-version']) throw anthropicInvalidRequest('anthropic-version: header is required');
}

// Claude's tokenizer is not public. The mock counts with a real BPE (o200k), so its counts
// differ from the engine's estimate for Claude the way a real provider's do. Each message
// carries a few tokens of framing, as in OpenAI's accounting.
const framingTokens = 3;

/** Throws the Anthropic error a real endpoint would answer for this body. */
export function prepareMessage(context: MockContext, body: unknown): PreparedMessage {
  const request = parseMessagesRequest(body);
  if (request instanceof Error) throw request;
  if (!context.models.has(request.model)) throw anthropicModelNotFound(request.model);
  const system = contentText(request.system);
  let inputTokens = framingTokens + (system ? framingTokens + o200kTokenizer.count(system) : 0);
  for (const message of request.messages) inputTokens += framingTokens + o200kTokenizer.count(contentText(message.content));
  const contextLength = context.options.context;
  if (contextLength !== undefined && inputTokens > contextLength) throw promptTooLong(inputTokens, contextLength);
  if (contextLength !== undefined && inputTokens + request.max_tokens > contextLength) throw contextExceeded(inputTokens, request.max_tokens, contextLength);
  return { request, inputTokens, format: formatFromSystemPrompt(system) };
}

export function completeMessage(prepared: PreparedMessage, draw: FaultDraw): Completion {
  const { request, format } = prepared;
  return completeAnswer({ records: recordsOf(request.messages), format, tokenizer: o200kTokenizer, maxTokens: request.max_tokens }, draw);
}

export function anthropicResponseHeaders(context: MockContext): Record<string, string> {
  const headers: Record<string, string> = { 'request-id': context.nextId('req_') };
  if (context.options.rateLimitHeaders && context.anthropicLimiter.limited) Object.assign(headers, context.anthropicLimiter.headers());
  return headers;
}

export async function handleMessage(context: MockContext, request: IncomingMessage, response: ServerResponse, body: unknown): Promise<void> {
  const prepared = prepareMessage(context, body);
  const rejection = context.anthropicLimiter.admit(prepared.inputTokens);
  if (rejection) {
    context.stats.rateLimitedRequest();
    throw rejection;
  }
  context.admittedRequests++;
  context.stats.admitted(prepared.inputTokens, context.anthropicLimiter.requestsInWindow, context.anthropicLimiter.inputTokensInWindow);
  const draw = context.faults.draw();
  const signal = context.stopping.signal;
  if (draw.fault) context.stats.faultInjected(draw.fault);
  if (draw.fault === 'reset') {
    request.socket.destroy();
    return;
  }
  if (draw.fault === 'hang') return;
  if (draw.fault === 'http500' || draw.fault === 'http503' || draw.fault === 'overloaded') {
    if (!(await sleep(latencyMs(context, 0, draw), signal))) return;
    throw draw.fault === 'overloaded' ? overloaded() : anthropicServerError(draw.fault === 'http500' ? 500 : 503);
  }
  const completion = completeMessage(prepared, draw);
  if (!(await sleep(latencyMs(context, completion.completionTokens, draw), signal))) return;
  context.anthropicLimiter.wrote(completion.completionTokens);
  const stopReason = completion.finishReason === 'length' ? 'max_tokens' : 'end_turn';
  const message = messageBody(context.nextId('msg_'), prepared.request.model, completion.content, stopReason, prepared.inputTokens, completion.completionTokens);
  sendJson(response, 200, message, anthropicResponseHeaders(context));
  context.stats.answered(prepared.inputTokens, completion.completionTokens, completion.answeredIds);
}
