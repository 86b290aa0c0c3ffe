import { parseArgs } from 'node:util';
import { startMockLlm } from '../../mockLlm/server';
import { type MockLlmOptions, mockLlmOptionsSchema } from '../../mockLlm/options';
import { ExitCode, type CliCommand, UsageError } from '../command';

type OptionKey = keyof MockLlmOptions;

/** One row per flag: parsing, the zod key it fills, and its line in --help. */
interface Flag {
  flag: string;
  key: OptionKey;
  kind: 'number' | 'string' | 'list' | 'off' | 'on';
  value?: string;
  help: string;
  /** What leaving an option without a default out means. */
  unset?: string;
}

const flags: readonly Flag[] = [
  { flag: 'port', key: 'port', kind: 'number', value: 'N', help: 'port to listen on; 0 picks a free one' },
  { flag: 'host', key: 'host', kind: 'string', value: 'H', help: 'interface to listen on' },
  { flag: 'models', key: 'models', kind: 'list', value: 'A,B', help: 'the model ids served (replaces the list)' },
  { flag: 'latency-ms', key: 'latencyMs', kind: 'number', value: 'MS', help: 'delay before each answer' },
  { flag: 'latency-per-token-ms', key: 'latencyPerTokenMs', kind: 'number', value: 'MS', help: 'extra delay per completion token' },
  { flag: 'jitter', key: 'jitter', kind: 'number', value: 'F', help: 'latency varies by ± this fraction (0..1)' },
  { flag: 'rpm', key: 'rpm', kind: 'number', value: 'N', help: 'requests admitted per sliding window; else 429', unset: 'unlimited' },
  { flag: 'tpm', key: 'tpm', kind: 'number', value: 'N', help: 'tokens (prompt + max_tokens) admitted per window; else 429', unset: 'unlimited' },
  { flag: 'itpm', key: 'itpm', kind: 'number', value: 'N', help: 'input tokens per window on /v1/messages; else 429', unset: 'unlimited' },
  { flag: 'otpm', key: 'otpm', kind: 'number', value: 'N', help: 'output tokens per window on /v1/messages; else 429', unset: 'unlimited' },
  { flag: 'window-ms', key: 'windowMs', kind: 'number', value: 'MS', help: 'length of the rate-limit window' },
  { flag: 'no-ratelimit-headers', key: 'rateLimitHeaders', kind: 'off', help: 'do not send x-ratelimit-* headers' },
  { flag: 'context', key: 'context', kind: 'number', value: 'N', help: 'context length; prompt + max_tokens above it → 400', unset: 'unlimited' },
  { flag: 'api-key', key: 'apiKey', kind: 'string', value: 'K', help: 'accept only "Authorization: Bearer K"; else 401', unset: 'any key' },
  { flag: 'quota-after', key: 'quotaAfter', kind: 'number', value: 'N', help: 'after N admitted requests, 429 insufficient_quota', unset: 'unlimited' },
  { flag: 'fail-500', key: 'fail500', kind: 'number', value: 'P', help: 'probability of a 500 server_error' },
  { flag: 'fail-503', key: 'fail503', kind: 'number', value: 'P', help: 'probability of a 503 (overloaded)' },
  { flag: 'fail-reset', key: 'failReset', kind: 'number', value: 'P', help: 'probability the socket is destroyed unanswered' },
  { flag: 'fail-hang', key: 'failHang', kind: 'number', value: 'P', help: 'probability the request is never answered' },
  { flag: 'fail-badjson', key: 'failBadJson', kind: 'number', value: 'P', help: 'probability the content is cut mid-way (invalid JSON)' },
  { flag: 'fail-drop', key: 'failDrop', kind: 'number', value: 'P', help: "probability one record's result is missing" },
  { flag: 'fail-truncate', key: 'failTruncate', kind: 'number', value: 'P', help: 'probability of finish_reason "length", content cut' },
  { flag: 'fail-overloaded', key: 'failOverloaded', kind: 'number', value: 'P', help: 'probability of 529 overloaded_error (503 on chat completions)' },
  { flag: 'batch-processing-ms', key: 'batchProcessingMs', kind: 'number', value: 'MS', help: 'how long a message batch stays in_progress' },
  { flag: 'batch-expire', key: 'batchExpire', kind: 'number', value: 'P', help: 'probability a message batch request ends "expired"' },
  { flag: 'seed', key: 'seed', kind: 'number', value: 'N', help: 'seed the fault and jitter draws (repeatable runs)', unset: 'random' },
  { flag: 'batch-delay-ms', key: 'batchDelayMs', kind: 'number', value: 'MS', help: 'time a batch takes from validating to completed' },
  { flag: 'batch-fail-line', key: 'batchFailLine', kind: 'number', value: 'P', help: 'probability a batch line fails (error file)' },
  { flag: 'batch-expire-first', key: 'batchExpireFirst', kind: 'number', value: 'N', help: 'the first N batches expire, half their lines unanswered' },
  { flag: 'batch-max-requests', key: 'batchMaxRequests', kind: 'number', value: 'N', help: 'requests a batch input file may hold' },
  { flag: 'batch-max-file-bytes', key: 'batchMaxFileBytes', kind: 'number', value: 'N', help: 'bytes a batch input file may have' },
  { flag: 'no-record-counts', key: 'trackRecords', kind: 'off', help: 'do not count answers per record id (saves memory)' },
  { flag: 'track-arrivals', key: 'trackArrivals', kind: 'on', help: 'keep each request\'s arrival time and tokens (GET /stats/arrivals)' },
];

function defaultText(flag: Flag, defaults: MockLlmOptions): string {
  if (flag.kind === 'off' || flag.kind === 'on') return '';
  const value = defaults[flag.key];
  if (value === undefined) return ` (default: ${flag.unset ?? 'none'})`;
  return ` (default: ${Array.isArray(value) ? value.join(',') : String(value)})`;
}

function usage(): string {
  const left = flags.map((flag) => `--${flag.flag}${flag.value ? ` ${flag.value}` : ''}`);
  const width = Math.max(...left.map((text) => text.length));
  const defaults = mockLlmOptionsSchema.parse({});
  const lines = flags.map((flag, index) => `  ${left[index].padEnd(width)}  ${flag.help}${defaultText(flag, defaults)}`);
  return `drover mock-llm [options]

A local OpenAI-compatible LLM server for demos, tests and benchmarks. It answers
POST /v1/chat/completions (plain and stream: true), GET /v1/models, the Batch API
(/v1/files, /v1/batches: batches complete after --batch-delay-ms), Anthropic's
POST /v1/messages and its Message Batches (/v1/messages/batches) as a
deterministic "analyst model": the records in the last user message
({"records":[{"id","input"}]}, or the whole text as record "1") get a sentiment
from English and Japanese word lists, shaped by response_format json_schema.
When ready it prints one line, {"url":"http://127.0.0.1:N/v1"}, on stdout; logs
(a stats line per minute, errors) go to stderr. Ctrl-C or SIGTERM stops it.

Options:
${lines.join('\n')}

The --fail-* probabilities add up to at most 1; only admitted requests draw them.
GET /stats, GET /stats/records and GET /stats/arrivals report what it saw; POST /stats/reset zeroes them.`;
}

function toNumber(flag: Flag, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) {
    throw new UsageError(`--${flag.flag}: expected a number, got "${text}"`);
  }
  return value;
}

/** Flags → options, with every problem named by its flag. */
export function parseMockLlmFlags(argv: string[]): MockLlmOptions {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(
      flags.map((flag) => [flag.flag, { type: flag.kind === 'off' || flag.kind === 'on' ? ('boolean' as const) : ('string' as const) }]),
    ),
  });
  const input: Record<string, unknown> = {};
  for (const flag of flags) {
    const given = values[flag.flag];
    if (given === undefined) continue;
    if (flag.kind === 'off') input[flag.key] = false;
    else if (flag.kind === 'on') input[flag.key] = true;
    else if (typeof given !== 'string') continue;
    else if (flag.kind === 'number') input[flag.key] = toNumber(flag, given);
    else if (flag.kind === 'list') input[flag.key] = given.split(',').map((item) => item.trim()).filter(Boolean);
    else input[flag.key] = given;
  }
  const parsed = mockLlmOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const flag = flags.find((candidate) => candidate.key === issue.path[0]);
      return flag ? `--${flag.flag}: ${issue.message}` : issue.message;
    });
    throw new UsageError(problems.join('; '));
  }
  return parsed.data;
}

/** The first SIGINT or SIGTERM; `dispose` stops listening without one. */
function untilSignal(): { signal: Promise<NodeJS.Signals>; dispose: () => void } {
  let dispose = () => {};
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    const stop = (received: NodeJS.Signals) => {
      dispose();
      resolve(received);
    };
    dispose = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return { signal, dispose };
}

const logIntervalMs = 60_000;

export const mockLlmCommand: CliCommand = {
  name: 'mock-llm',
  summary: 'Run a local OpenAI-compatible mock LLM (limits, latency, faults)',
  usage: usage(),
  async run(argv) {
    const options = parseMockLlmFlags(argv);
    // Listen before announcing the URL: whoever reads it may signal at once.
    const stopped = untilSignal();
    const server = await startMockLlm({
      ...options,
      onInternalError: (error) =>
        process.stderr.write(`mock-llm error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`),
    }).catch((error: unknown) => {
      stopped.dispose();
      throw error;
    });
    process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
    const logger = setInterval(() => {
      process.stderr.write(`mock-llm ${new Date().toISOString()} ${JSON.stringify(server.stats())}\n`);
    }, logIntervalMs);
    const signal = await stopped.signal;
    clearInterval(logger);
    process.stderr.write(`mock-llm: ${signal}, stopping\n`);
    await server.close();
    return ExitCode.ok;
  },
};
