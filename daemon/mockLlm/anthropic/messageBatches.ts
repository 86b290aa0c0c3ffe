// Message Batches: POST /v1/messages/batches, GET /v1/messages/batches (list), GET …/{id},
// GET …/{id}/results (JSONL), POST …/{id}/cancel. Each request is checked and answered like POST /v1/messages, without
// the rate limiter or the online faults: a bad request becomes an "errored" line, as
// Anthropic validates batch requests only while processing them.
import { once } from 'node:events';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { ApiError } from '../errors';
import { readJsonBody, sendJson } from '../httpIo';
import { type MockContext } from '../mockContext';
import { anthropicInvalidRequest, anthropicNotFound } from './anthropicErrors';
import { type BatchLine } from './messageBatchStore';
import { messageBody } from './messageShapes';
import { anthropicResponseHeaders, completeMessage, prepareMessage } from './messages';

export const maxBatchRequests = 100_000;

const createSchema = z.object({
  requests: z
    .array(z.object({ custom_id: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/), params: z.record(z.string(), z.unknown()) }).strict())
    .min(1)
    .max(maxBatchRequests),
});

const noFault = { fault: undefined, jitter: 0, position: 0 } as const;

function processRequest(context: MockContext, customId: string, params: unknown): BatchLine {
  try {
    const prepared = prepareMessage(context, params);
    const completion = completeMessage(prepared, noFault);
    const stopReason = completion.finishReason === 'length' ? 'max_tokens' : 'end_turn';
    context.stats.answered(prepared.inputTokens, completion.completionTokens, completion.answeredIds);
    const message = messageBody(context.nextId('msg_'), prepared.request.model, completion.content, stopReason, prepared.inputTokens, completion.completionTokens);
    return { custom_id: customId, result: { type: 'succeeded', message } };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { custom_id: customId, result: { type: 'errored', error: error.body() } };
  }
}

function create(context: MockContext, body: unknown): string {
  const parsed = createSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw anthropicInvalidRequest(`${issue?.path.map(String).join('.') || 'requests'}: ${issue?.message ?? 'invalid'}`);
  }
  const seen = new Set<string>();
  for (const { custom_id: customId } of parsed.data.requests) {
    if (seen.has(customId)) throw anthropicInvalidRequest(`requests: custom_id "${customId}" is used more than once`);
    seen.add(customId);
  }
  return context.messageBatches.create(parsed.data.requests, (customId, params) => processRequest(context, customId, params));
}

const listQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(20), after_id: z.string().optional() });

/** GET /v1/messages/batches: newest first, paged with after_id, as Anthropic's list. */
function list(context: MockContext, query: URLSearchParams, base: string): object {
  const parsed = listQuerySchema.safeParse(Object.fromEntries(query));
  if (!parsed.success) throw anthropicInvalidRequest(`limit: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const { ids, hasMore } = context.messageBatches.list(parsed.data.limit, parsed.data.after_id);
  return { data: ids.map((id) => context.messageBatches.view(id, base)), has_more: hasMore, first_id: ids[0] ?? null, last_id: ids.at(-1) ?? null };
}

async function sendResults(response: ServerResponse, lines: readonly BatchLine[], headers: Record<string, string>): Promise<void> {
  response.writeHead(200, { ...headers, 'content-type': 'application/x-jsonl' });
  for (const line of lines) {
    if (!response.write(`${JSON.stringify(line)}\n`)) await once(response, 'drain');
  }
  response.end();
}

/** Routes /v1/messages/batches…; false when the path is not one of them. */
export async function routeMessageBatches(context: MockContext, request: IncomingMessage, response: ServerResponse, path: string): Promise<boolean> {
  const method = request.method ?? 'GET';
  const base = `http://${request.headers.host ?? '127.0.0.1'}`;
  const headers = anthropicResponseHeaders(context);
  if (path === '/v1/messages/batches' && method === 'POST') {
    const id = create(context, await readJsonBody(request));
    sendJson(response, 200, context.messageBatches.view(id, base), headers);
    return true;
  }
  if (path === '/v1/messages/batches' && method === 'GET') {
    sendJson(response, 200, list(context, new URL(request.url ?? '/', base).searchParams, base), headers);
    return true;
  }
  const match = /^\/v1\/messages\/batches\/([^/]+)(\/results|\/cancel)?$/.exec(path);
  if (!match) return false;
  const id = decodeURIComponent(match[1] ?? '');
  const action = match[2];
  if (!context.messageBatches.has(id)) throw anthropicNotFound(`message batch ${id} not found`);
  if (method === 'GET' && action === undefined) sendJson(response, 200, context.messageBatches.view(id, base), headers);
  else if (method === 'POST' && action === '/cancel') {
    context.messageBatches.cancel(id);
    sendJson(response, 200, context.messageBatches.view(id, base, true), headers);
  } else if (method === 'GET' && action === '/results') {
    const lines = context.messageBatches.results(id);
    if (!lines) throw anthropicInvalidRequest(`message batch ${id} has not ended yet: its results are not available`);
    await sendResults(response, lines, headers);
  } else return false;
  return true;
}
