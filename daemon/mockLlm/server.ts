// The mock LLM's HTTP server: routes, authentication, per-request bookkeeping and a
// shutdown that also ends hung requests and idle keep-alive sockets.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { routeMessageBatches } from './anthropic/messageBatches';
import { anthropicResponseHeaders, checkAnthropicHeaders, handleMessage } from './anthropic/messages';
import { routeBatchApi } from './batchRoutes';
import { handleChatCompletion } from './chatCompletions';
import { anthropicNotFound } from './anthropic/anthropicErrors';
import { ApiError, invalidApiKey, invalidUrl } from './errors';
import { readJsonBody, sendError, sendJson } from './httpIo';
import { MockContext } from './mockContext';
import { listModels, retrieveModel } from './models';
import { type MockLlmHooks, type MockLlmOptionsInput, mockLlmOptionsSchema } from './options';
import { type Arrival, type MockLlmStats } from './stats';

export interface MockLlmServer {
  /** The OpenAI base URL, ending in /v1. */
  readonly url: string;
  readonly port: number;
  stats(): MockLlmStats;
  recordCounts(): Record<string, number>;
  /** Every chat request's arrival, when `trackArrivals` is on. */
  arrivals(): Arrival[];
  resetStats(): void;
  close(): Promise<void>;
}

function bearerKey(request: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '');
  return match?.[1]?.trim();
}

/** Anthropic's routes: authenticated by x-api-key, answered in Anthropic's shapes. */
async function routeAnthropic(context: MockContext, request: IncomingMessage, response: ServerResponse, path: string) {
  checkAnthropicHeaders(context, request);
  if (request.method === 'POST' && path === '/v1/messages') await handleMessage(context, request, response, await readJsonBody(request));
  else if (!(await routeMessageBatches(context, request, response, path))) throw anthropicNotFound(`${request.method ?? 'GET'} ${path} is not a route`);
}

const isAnthropicPath = (path: string) => path === '/v1/messages' || path.startsWith('/v1/messages/');

async function routeApi(context: MockContext, request: IncomingMessage, response: ServerResponse, path: string) {
  if (isAnthropicPath(path)) {
    await routeAnthropic(context, request, response, path);
    return;
  }
  const { apiKey } = context.options;
  if (apiKey !== undefined) {
    const presented = bearerKey(request);
    if (presented !== apiKey) throw invalidApiKey(presented);
  }
  const method = request.method ?? 'GET';
  if (await routeBatchApi(context, request, response, method, new URL(request.url ?? '/', 'http://mock.invalid'))) return;
  if (method === 'POST' && path === '/v1/chat/completions') {
    await handleChatCompletion(context, request, response, await readJsonBody(request));
  } else if (method === 'GET' && path === '/v1/models') {
    sendJson(response, 200, listModels(context.models), context.responseHeaders());
  } else if (method === 'GET' && path.startsWith('/v1/models/')) {
    const id = decodeURIComponent(path.slice('/v1/models/'.length));
    sendJson(response, 200, retrieveModel(context.models, id), context.responseHeaders());
  } else {
    throw invalidUrl(method, path);
  }
}

function routeStats(context: MockContext, request: IncomingMessage, response: ServerResponse, path: string): boolean {
  const method = request.method ?? 'GET';
  if (method === 'GET' && path === '/stats') sendJson(response, 200, context.stats.snapshot(), {});
  else if (method === 'GET' && path === '/stats/records') sendJson(response, 200, context.stats.recordCounts(), {});
  else if (method === 'GET' && path === '/stats/arrivals') sendJson(response, 200, context.stats.arrivals(), {});
  else if (method === 'POST' && path === '/stats/reset') {
    context.stats.reset();
    sendJson(response, 200, { reset: true }, {});
  } else return false;
  return true;
}

function handle(
  context: MockContext,
  hooks: MockLlmHooks,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const path = (request.url ?? '/').split('?', 1)[0];
  if (routeStats(context, request, response, path)) return;
  // Only API calls count in the stats, so that polling /stats does not change them.
  context.stats.requestStarted();
  response.once('close', () => context.stats.requestEnded(response.headersSent ? response.statusCode : undefined));
  const fail = (error: unknown) => {
    if (!(error instanceof ApiError)) hooks.onInternalError?.(error);
    if (response.headersSent || response.destroyed) return;
    const apiError =
      error instanceof ApiError ? error : new ApiError(500, `The mock failed: ${String(error)}`, 'server_error');
    sendError(response, apiError, isAnthropicPath(path) ? anthropicResponseHeaders(context) : context.responseHeaders());
  };
  if (!path.startsWith('/v1/')) {
    fail(invalidUrl(request.method ?? 'GET', path));
    return;
  }
  routeApi(context, request, response, path).catch(fail);
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** A host to put in a URL: a wildcard address is reached through loopback. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startMockLlm(input: MockLlmOptionsInput & MockLlmHooks = {}): Promise<MockLlmServer> {
  const options = mockLlmOptionsSchema.parse(input);
  const context = new MockContext(options, input.now ?? (() => performance.now()));
  const server = createServer((request, response) => handle(context, input, request, response));
  const address = await listen(server, options.port, options.host);
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost(options.host)}:${address.port}/v1`,
    port: address.port,
    stats: () => context.stats.snapshot(),
    recordCounts: () => context.stats.recordCounts(),
    arrivals: () => context.stats.arrivals(),
    resetStats: () => context.stats.reset(),
    close() {
      closing ??= new Promise<void>((resolve) => {
        context.stopping.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
