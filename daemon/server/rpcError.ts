// A JSON-RPC error the daemon answers with, and the mapping from the engine's own errors
// (each names what to fix) to the protocol's stable codes.
import { rpcErrorCode, type RpcErrorCode } from '../protocol/rpc';

export class RpcError extends Error {
  override readonly name = 'RpcError';

  constructor(
    readonly code: RpcErrorCode,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** Errors whose message tells the user what to fix, by the error's name. */
const codeByErrorName: Readonly<Record<string, RpcErrorCode>> = {
  SpecError: rpcErrorCode.specInvalid,
  TemplateError: rpcErrorCode.specInvalid,
  OutputSchemaError: rpcErrorCode.specInvalid,
  SourceError: rpcErrorCode.sourceError,
  SinkError: rpcErrorCode.sourceError,
  JobSetupError: rpcErrorCode.jobSetup,
};

/** The RpcError for a known error, or null for a bug (answered as internal, details logged). */
export function toRpcError(error: unknown): RpcError | null {
  if (error instanceof RpcError) return error;
  if (!(error instanceof Error)) return null;
  const code = codeByErrorName[error.name];
  if (code === undefined) return null;
  const problems = (error as { problems?: unknown }).problems;
  return new RpcError(code, error.message, Array.isArray(problems) ? { problems } : undefined);
}
