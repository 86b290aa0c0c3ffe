// POST /v1/chat/completions: validate, check the model, the context and the quota, pass
// the rate limiter, draw the faults, then answer as the analyst model (plain or streamed).
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { type ChatMessage, countChatTokens, type Tokenizer, tokenizerFor } from '../tokens/tokenizer';
import { answerFor, recordsOf } from './answer';
import { type ChatRequest, messageText, parseChatRequest } from './chatRequest';
import { completionBody, type FinishReason, usageOf } from './completionShapes';
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

/** Every check that can refuse the request, in OpenAI's order; the request is admitted after. */
function admit(context: MockContext, body: unknown): Admitted {
  const request = parseChatRequest(body);
  if (request instanceof ApiError) throw request;
  if (!context.models.has(request.model)) throw modelNotFound(request.model);
  const tokenizer = tokenizerFor(request.model);
  const promptTokens = countChatTokens(tokenizer, asChatMessages(request));
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  const { context: contextLength, quotaAfter } = context.options;
  if (contextLength !== undefined && promptTokens + (maxTokens ?? 0) > contextLength) {
    throw contextLengthExceeded(contextLength, promptTokens, maxTokens ?? 0);
  }
  if (quotaAfter !== undefined && context.admittedRequests >= quotaAfter) throw insufficientQuota();
  const limiterTokens = promptTokens + (maxTokens ?? 0);
  const rejection = context.limiter.admit(request.model, limiterTokens);
  if (rejection) {
    context.stats.rateLimitedRequest();
    throw rejection;
  }
  context.admittedRequests++;
  context.stats.admitted(limiterTokens, context.limiter.requestsInWindow, context.limiter.tokensInWindow);
  return { request, tokenizer, promptTokens, maxTokens };
}

interface Completion {
  content: string;
  finishReason: FinishReason;
  completionTokens: number;
  /** Records whose results arrive intact; none when the content is cut or invalid. */
  answeredIds: readonly string[];
}

/** The analyst's answer, with the content faults applied and max_tokens enforced. */
function complete(admitted: Admitted, draw: FaultDraw): Completion {
  const { request, tokenizer, maxTokens } = admitted;
  const answer = answerFor(recordsOf(request.messages), request.response_format);
  let answeredIds = answer.recordIds;
  let content: string;
  if (answer.kind === 'results') {
    let results = answer.results;
    if (draw.fault === 'drop') {
      const dropped = results.length > 1 ? Math.floor(draw.position * results.length) : 0;
      results = results.filter((_, index) => index !== dropped);
      answeredIds = answeredIds.filter((_, index) => index !== dropped);
    }
    content = JSON.stringify({ results });
  } else {
    content = JSON.stringify(answer.value);
  }
  if (draw.fault === 'badJson') {
    // Any proper prefix of a JSON object's text is invalid JSON.
    content = content.slice(0, 1 + Math.floor(draw.position * (content.length - 1)));
    answeredIds = [];
  }
  let finishReason: FinishReason = 'stop';
  let completionTokens = tokenizer.count(content);
  const cutTo =
    draw.fault === 'truncate'
      ? Math.floor(draw.position * completionTokens)
      : maxTokens !== undefined && completionTokens > maxTokens
        ? maxTokens
        : undefined;
  if (cutTo !== undefined) {
    content = tokenizer.truncate(content, cutTo);
    completionTokens = tokenizer.count(content);
    finishReason = 'length';
    answeredIds = [];
  }
  return { content, finishReason, completionTokens, answeredIds };
}

function latencyMs(context: MockContext, completionTokens: number, draw: FaultDraw): number {
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
  if (draw.fault === 'http500' || draw.fault === 'http503') {
    if (!(await sleep(latencyMs(context, 0, draw), signal))) return;
    throw injectedServerError(draw.fault === 'http500' ? 500 : 503);
  }
  const completion = complete(admitted, draw);
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
