// What every `drover <command>` module provides, so main.ts can list and dispatch them.
export interface CliCommand {
  readonly name: string;
  /** One line for `drover --help`. */
  readonly summary: string;
  /** The full help text for `drover <command> --help`. */
  readonly usage: string;
  /** Returns the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** Exit codes, documented in `drover --help` and the README. */
export const ExitCode = {
  ok: 0,
  /** The job finished but some records failed. */
  recordsFailed: 1,
  /** Bad usage or an invalid spec: nothing was started. */
  usage: 2,
  /** The job stopped for a reason the user must fix (key, quota, model, budget). */
  jobFatal: 3,
  /** Paused by the user (Ctrl-C) or by a signal; running it again resumes. */
  paused: 4,
  /** An unexpected internal error. */
  internal: 70,
} as const;

/** A mistake in how the command was called; reported without a stack trace, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Errors that describe something to fix in the spec, the source or the command line. */
const userFacingErrors = new Set(['UsageError', 'SpecError', 'SourceError', 'SinkError', 'OutputSchemaError', 'TemplateError']);

export function isUsageMistake(error: unknown): boolean {
  if (error instanceof Error && userFacingErrors.has(error.name)) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}
