// A small OpenAI-compatible provider (node:http) whose every answer a test scripts: a 429
// with a given header, an HTML page, a body without `choices`, one record refused for
// ever, a 100 MB body. It records when each request arrived and which records it held, so
// a test can measure how long the engine waited and what it sent.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerFor, recordsOf } from '../../daemon/mockLlm/answer';
import { messageText, type ChatRequest } from '../../daemon/mockLlm/chatRequest';
import { completionBody, usageOf } from '../../daemon/mockLlm/completionShapes';
import { countChatTokens, tokenizerFor } from '../../daemon/tokens/tokenizer';

export interface ProviderCall {
  /** 0-based, in arrival order. */
  index: number;
  /** Date.now() when the request's body had arrived. */
  at: number;
  /** The record ids of the wire format, in order. */
  ids: string[];
  headers: IncomingHttpHeaders;
  body: ChatRequest;
}

export interface Script {
  (call: ProviderCall, response: ServerResponse, provider: ScriptedProvider): void | Promise<void>;
}

export interface ScriptedProvider {
  /** The base URL, ending in /v1. */
  readonly url: string;
  readonly calls: ProviderCall[];
  /** A valid answer for every record of the call, as the analyst model gives it. */
  answer(call: ProviderCall, response: ServerResponse, headers?: Record<string, string>): void;
  /** An OpenAI-shaped error. */
  error(response: ServerResponse, status: number, error: { message: string; type?: string; code?: string }, headers?: Record<string, string>): void;
  close(): Promise<void>;
}

/** Prompt tokens as the mock LLM (and OpenAI) count them. */
export function promptTokensOf(call: ProviderCall): number {
  // The mock LLM's own mapping: anything but a user's or the assistant's message counts as system.
  const messages = call.body.messages.map((message) => ({
    role: message.role === 'user' || message.role === 'assistant' ? message.role : ('system' as const),
    content: messageText(message),
  }));
  return countChatTokens(tokenizerFor(call.body.model), messages);
}

function answerText(call: ProviderCall): string {
  const answer = answerFor(recordsOf(call.body.messages), call.body.response_format);
  const content = JSON.stringify(answer.kind === 'results' ? { results: answer.results } : answer.value);
  const usage = usageOf(promptTokensOf(call), tokenizerFor(call.body.model).count(content));
  return JSON.stringify(completionBody({ id: `chatcmpl-${call.index}`, created: Math.floor(Date.now() / 1000), model: call.body.model }, content, 'stop', usage));
}

export async function startScriptedProvider(script: Script): Promise<ScriptedProvider> {
  const calls: ProviderCall[] = [];
  const provider: ScriptedProvider = {
    url: '',
    calls,
    answer(call, response, headers = {}) {
      const text = answerText(call);
      response.writeHead(200, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      response.end(text);
    },
    error(response, status, error, headers = {}) {
      const text = JSON.stringify({ error: { type: 'invalid_request_error', code: null, param: null, ...error } });
      response.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      response.end(text);
    },
    close: () => Promise.resolve(),
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequest;
      const call: ProviderCall = { index: calls.length, at: Date.now(), ids: recordsOf(body.messages).map((record) => record.id), headers: request.headers, body };
      calls.push(call);
      void Promise.resolve(script(call, response, provider)).catch((error: unknown) => {
        if (!response.headersSent) provider.error(response, 500, { message: `the scripted provider failed: ${String(error)}` });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(provider, {
    url: `http://127.0.0.1:${port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}
