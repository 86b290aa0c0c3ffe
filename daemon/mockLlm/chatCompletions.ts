// POST /v1/chat/completions: validate, check the model, the context and the quota, pass
// the rate limiter, draw the faults, then answer as the analyst model (plain or streamed).
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { type ChatMessage, countChatTokens, type Tokenizer, tokenizerFor } from '../tokens/tokenizer';
import { recordsOf } from './answer';
import { type ChatRequest, messageText, parseChatRequest } from './chatRequest';
import { completeAnswer } from './completion';
import { completionBody, usageOf } from './completionShapes';
import {
  ApiError,
  contextLengthExceeded,
  injectedServerError,
  insufficientQuota,
  modelNotFound,
} from './errors';
import { type FaultDraw } from './faults';
import { sendJson, sleep } from './httpIo';
import { type MockContext } from './mockContext';
import { streamAnswer } from './stream';

interface Admitted {
  request: ChatRequest;
  tokenizer: Tokenizer;
  promptTokens: number;
  maxTokens: number | undefined;
}

function asChatMessages(request: ChatRequest): ChatMessage[] {
  return request.messages.map((message) => ({
    role: message.role === 'assistant' ? 'assistant' : message.role === 'user' ? 'user' : 'system',
    content: messageText(message),
  }));
}

/** The checks of the request itself (not of limits or quota): what a batch line also gets. */
function validate(context: MockContext, body: unknown): Admitted {
  const request = parseChatRequest(body);
  if (request instanceof ApiError) throw request;
  if (!context.models.has(request.model)) throw modelNotFound(request.model);
  const tokenizer = tokenizerFor(request.model);
  const promptTokens = countChatTokens(tokenizer, asChatMessages(request));
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  const { context: contextLength } = context.options;
  if (contextLength !== undefined && promptTokens + (maxTokens ?? 0) > contextLength) {
    throw contextLengthExceeded(contextLength, promptTokens, maxTokens ?? 0);
  }
  return { request, tokenizer, promptTokens, maxTokens };
}

/** Every check that can refuse the request, in OpenAI's order; the request is admitted after. */
function admit(context: MockContext, body: unknown): Admitted {
  const admitted = validate(context, body);
  const { request, promptTokens, maxTokens } = admitted;
  const { quotaAfter } = context.options;
  if (quotaAfter !== undefined && context.admittedRequests >= quotaAfter) throw insufficientQuota();
  const limiterTokens = promptTokens + (maxTokens ?? 0);
  const rejection = context.limiter.admit(request.model, limiterTokens);
  context.stats.arrived(context.now(), limiterTokens, rejection === undefined);
  if (rejection) {
    context.stats.rateLimitedRequest();
    throw rejection;
  }
  context.admittedRequests++;
  context.stats.admitted(limiterTokens, context.limiter.requestsInWindow, context.limiter.tokensInWindow);
  return admitted;
}

export function latencyMs(context: MockContext, completionTokens: number, draw: FaultDraw): number {
  const { latencyMs: base, latencyPerTokenMs, jitter } = context.options;
  return (base + latencyPerTokenMs * completionTokens) * (1 + jitter * draw.jitter);
}

export async function handleChatCompletion(
  context: MockContext,
  request: IncomingMessage,
  response: ServerResponse,
  body: unknown,
): Promise<void> {
  const admitted = admit(context, body);
  const draw = context.faults.draw();
  const signal = context.stopping.signal;
  if (draw.fault) context.stats.faultInjected(draw.fault);
  if (draw.fault === 'reset') {
    request.socket.destroy();
    return;
  }
  // A hung request is simply never answered; its socket goes when the client or server ends it.
  if (draw.fault === 'hang') return;
  // OpenAI has no 529: an injected "overloaded" is its 503, "The engine is currently overloaded".
  if (draw.fault === 'http500' || draw.fault === 'http503' || draw.fault === 'overloaded') {
    if (!(await sleep(latencyMs(context, 0, draw), signal))) return;
    throw injectedServerError(draw.fault === 'http500' ? 500 : 503);
  }
  const { request: chat, tokenizer, maxTokens } = admitted;
  const completion = completeAnswer({ records: recordsOf(chat.messages), format: chat.response_format, tokenizer, maxTokens }, draw);
  const header = { id: context.nextId('chatcmpl-'), created: Math.floor(Date.now() / 1000), model: admitted.request.model };
  const usage = usageOf(admitted.promptTokens, completion.completionTokens);
  const totalDelayMs = latencyMs(context, completion.completionTokens, draw);
  if (admitted.request.stream) {
    const firstTokenMs = context.options.latencyMs * (1 + context.options.jitter * draw.jitter);
    if (!(await sleep(firstTokenMs, signal))) return;
    const streamed = await streamAnswer(
      response,
      {
        header,
        content: completion.content,
        finishReason: completion.finishReason,
        usage,
        includeUsage: admitted.request.stream_options?.include_usage === true,
        contentDelayMs: totalDelayMs - firstTokenMs,
      },
      context.responseHeaders(),
      signal,
    );
    if (!streamed) return;
  } else {
    if (!(await sleep(totalDelayMs, signal))) return;
    sendJson(response, 200, completionBody(header, completion.content, completion.finishReason, usage), context.responseHeaders());
  }
  context.stats.answered(admitted.promptTokens, completion.completionTokens, completion.answeredIds);
}

/**
 * One request answered as a batch line: the same checks and the same analyst as the HTTP
 * endpoint, without rate limits, faults or latency (the batch's own failures are drawn by
 * its runner). Returns the line's `response` as OpenAI writes it in an output file.
 */
export function answerBatchLine(context: MockContext, body: unknown): { status_code: number; request_id: string; body: unknown } {
  const requestId = context.nextId('req_');
  let admitted: Admitted;
  try {
    admitted = validate(context, body);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { status_code: error.status, request_id: requestId, body: error.body() };
  }
  const { request: chat, tokenizer, maxTokens } = admitted;
  const completion = completeAnswer({ records: recordsOf(chat.messages), format: chat.response_format, tokenizer, maxTokens }, { fault: undefined, jitter: 0, position: 0 });
  const header = { id: context.nextId('chatcmpl-'), created: Math.floor(Date.now() / 1000), model: admitted.request.model };
  context.stats.answered(admitted.promptTokens, completion.completionTokens, completion.answeredIds);
  return {
    status_code: 200,
    request_id: requestId,
    body: completionBody(header, completion.content, completion.finishReason, usageOf(admitted.promptTokens, completion.completionTokens)),
  };
}
