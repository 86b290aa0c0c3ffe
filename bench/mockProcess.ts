// The mock LLM as its own process (under GNU time, so its CPU is known too), fresh for each
// engine run so that its /stats belong to that run alone.
import type { MockLlmStats } from '../daemon/mockLlm/stats';
import { firstLine, startTimed, type ProcessUsage } from './processes';
import { paths } from './paths';

export interface MockProcess {
  /** The OpenAI base URL, ending in /v1. */
  readonly url: string;
  stats(): Promise<MockLlmStats>;
  /** Stops the mock; its CPU use for the run. */
  stop(): Promise<ProcessUsage>;
}

export async function startMock(flags: readonly string[]): Promise<MockProcess> {
  const timed = startTimed([process.execPath, paths.cli, 'mock-llm', '--port', '0', '--no-record-counts', ...flags]);
  const line = await firstLine(timed, 'the mock LLM');
  const { url } = JSON.parse(line) as { url: string };
  const statsUrl = `${url.replace(/\/v1$/, '')}/stats`;
  return {
    url,
    async stats() {
      const response = await fetch(statsUrl);
      if (!response.ok) throw new Error(`GET ${statsUrl}: ${response.status}`);
      return (await response.json()) as MockLlmStats;
    },
    async stop() {
      await timed.signal('SIGTERM');
      const outcome = await timed.done;
      if (outcome.code !== 0) throw new Error(`the mock LLM exited ${outcome.code}: ${outcome.stderr.slice(-2000)}`);
      return outcome.usage;
    },
  };
}

/** A fresh mock for one engine run, always stopped; the run's result and the mock's CPU. */
export async function withMock<T>(flags: readonly string[], body: (mock: MockProcess) => Promise<T>): Promise<{ result: T; mockUsage: ProcessUsage }> {
  const mock = await startMock(flags);
  let result: T;
  try {
    result = await body(mock);
  } catch (error) {
    await mock.stop().catch(() => undefined);
    throw error;
  }
  return { result, mockUsage: await mock.stop() };
}
