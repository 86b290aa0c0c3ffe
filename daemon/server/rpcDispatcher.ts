// Turns one inbound WebSocket message into the JSON-RPC answer: parses it, validates the
// envelope and the params against the method's schema, calls the handler, validates the
// result, and maps every failure to a stable error code. It never throws and never sends a
// stack trace: a bug is answered as an internal error and reported to the daemon's log.
import type { z } from 'zod';
import {
  isRpcMethodName,
  rpcErrorCode,
  rpcMethods,
  rpcRequestSchema,
  type RpcErrorCode,
  type RpcId,
  type RpcMethodName,
  type RpcParsedParams,
  type RpcResponse,
  type RpcResult,
} from '../protocol/rpc';
import { describeIssues } from '../spec/loadSpec';
import { toRpcError } from './rpcError';

export type MethodHandlers<Caller> = {
  [M in RpcMethodName]: (params: RpcParsedParams<M>, caller: Caller) => Promise<RpcResult<M>> | RpcResult<M>;
};

export interface DispatcherHooks {
  /** A bug behind an internal error: logged with its stack, never shown to the client. */
  internalError(error: unknown, method: string): void;
  /** Applied to every error message (they may quote a provider's answer). */
  redact(text: string): string;
}

type Answer = RpcResponse | null;

const issueData = (issues: readonly z.core.$ZodIssue[]) => ({
  issues: issues.map((issue) => ({ path: issue.path.map((part) => (typeof part === 'number' ? part : String(part))), code: issue.code, message: issue.message })),
});

export class RpcDispatcher<Caller> {
  constructor(
    private readonly handlers: MethodHandlers<Caller>,
    private readonly hooks: DispatcherHooks,
  ) {}

  /** The text to send back, or null when nothing is owed (notifications). */
  async handleText(text: string, caller: Caller): Promise<string | null> {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return JSON.stringify(this.failure(null, rpcErrorCode.parseError, 'parse error: the message is not valid JSON'));
    }
    if (Array.isArray(message)) {
      if (message.length === 0) return JSON.stringify(this.failure(null, rpcErrorCode.invalidRequest, 'invalid request: an empty batch'));
      const answers = (await Promise.all(message.map((item) => this.handleOne(item, caller)))).filter((answer) => answer !== null);
      return answers.length === 0 ? null : JSON.stringify(answers);
    }
    const answer = await this.handleOne(message, caller);
    return answer === null ? null : JSON.stringify(answer);
  }

  private async handleOne(message: unknown, caller: Caller): Promise<Answer> {
    const request = rpcRequestSchema.safeParse(message);
    if (!request.success) {
      const id = (message as { id?: unknown } | null)?.id;
      const safeId: RpcId | null = typeof id === 'string' || typeof id === 'number' ? id : null;
      return this.failure(safeId, rpcErrorCode.invalidRequest, `invalid request: ${describeIssues(request.error.issues).join('; ')}`, issueData(request.error.issues));
    }
    const { id, method, params } = request.data;
    const answer = await this.call(method, params, caller);
    if (id === undefined) return null;
    return 'error' in answer ? { jsonrpc: '2.0', id, error: answer.error } : { jsonrpc: '2.0', id, result: answer.result };
  }

  private async call(method: string, params: unknown, caller: Caller): Promise<{ result: unknown } | { error: RpcResponseError }> {
    if (!isRpcMethodName(method)) return { error: this.error(rpcErrorCode.methodNotFound, `unknown method "${method}"`) };
    if (Array.isArray(params)) {
      return { error: this.error(rpcErrorCode.invalidParams, `invalid params for ${method}: pass an object with named members, not an array`) };
    }
    const schema = rpcMethods[method];
    const parsed = schema.params.safeParse(params ?? {});
    if (!parsed.success) {
      return {
        error: this.error(rpcErrorCode.invalidParams, `invalid params for ${method}: ${describeIssues(parsed.error.issues).join('; ')}`, issueData(parsed.error.issues)),
      };
    }
    try {
      const handler = this.handlers[method] as (params: unknown, caller: Caller) => Promise<unknown>;
      const result = await handler(parsed.data, caller);
      return { result: schema.result.parse(result) };
    } catch (error) {
      const known = toRpcError(error);
      if (known) return { error: this.error(known.code, known.message, known.data) };
      this.hooks.internalError(error, method);
      return { error: this.error(rpcErrorCode.internalError, `internal error in ${method}; the daemon log has the details`) };
    }
  }

  private error(code: RpcErrorCode, message: string, data?: unknown): RpcResponseError {
    const redacted = this.hooks.redact(message);
    return data === undefined ? { code, message: redacted } : { code, message: redacted, data };
  }

  private failure(id: RpcId | null, code: RpcErrorCode, message: string, data?: unknown): RpcResponse {
    return { jsonrpc: '2.0', id, error: this.error(code, message, data) };
  }
}

type RpcResponseError = { code: number; message: string; data?: unknown };
