import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it } from 'node:test';
import OpenAI from 'openai';
import { type FaultKind, faultKinds } from '../../daemon/mockLlm/faults';
import { type MockLlmOptionsInput } from '../../daemon/mockLlm/options';
import { type MockLlmServer, startMockLlm } from '../../daemon/mockLlm/server';

type Outcome = FaultKind | 'ok';

const records = [
  { id: 'x1', input: 'great' },
  { id: 'x2', input: 'bad' },
  { id: 'x3', input: 'fine' },
];
const request = { model: 'gpt-4.1', messages: [{ role: 'user' as const, content: JSON.stringify({ records }) }] };

const optionFor: Record<FaultKind, keyof MockLlmOptionsInput> = {
  http500: 'fail500',
  http503: 'fail503',
  reset: 'failReset',
  hang: 'failHang',
  badJson: 'failBadJson',
  drop: 'failDrop',
  truncate: 'failTruncate',
  overloaded: 'failOverloaded',
};

/** What the client saw, told apart only by what a client can observe. */
async function outcomeOf(client: OpenAI): Promise<Outcome> {
  try {
    const data = await client.chat.completions.create(request);
    const choice = data.choices[0];
    if (choice.finish_reason === 'length') return 'truncate';
    let answer: { results: { id: string }[] };
    try {
      answer = JSON.parse(choice.message.content!) as typeof answer;
    } catch {
      return 'badJson';
    }
    if (answer.results.length === records.length - 1) return 'drop';
    assert.deepEqual(
      answer.results.map((result) => result.id),
      records.map((record) => record.id),
    );
    return 'ok';
  } catch (error) {
    if (error instanceof OpenAI.APIConnectionTimeoutError) return 'hang';
    if (error instanceof OpenAI.APIConnectionError) return 'reset';
    if (error instanceof OpenAI.InternalServerError && error.status === 500) return 'http500';
    if (error instanceof OpenAI.InternalServerError && error.status === 503) return 'http503';
    throw error;
  }
}

// A hung request is told apart by the client's timeout; long enough that a busy machine
// never makes an ordinary answer look hung.
const hangTimeoutMs = 3000;

async function run(mock: MockLlmServer, count: number, concurrency: number): Promise<Outcome[]> {
  const client = new OpenAI({ baseURL: mock.url, apiKey: 'k', maxRetries: 0, timeout: hangTimeoutMs });
  const outcomes: Outcome[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      outcomes.push(await outcomeOf(client));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return outcomes;
}

describe('mock LLM failure injection', () => {
  for (const kind of faultKinds) {
    it(`injects ${kind} at about its configured rate (2000 requests at p = 0.1)`, async () => {
      const mock = await startMockLlm({ [optionFor[kind]]: 0.1 });
      try {
        // Chat completions have no 529: an injected overload is seen as OpenAI's 503.
        const outcomes = (await run(mock, 2000, kind === 'hang' ? 64 : 16)).map((outcome) => (kind === 'overloaded' && outcome === 'http503' ? 'overloaded' : outcome));
        const seen = outcomes.filter((outcome) => outcome === kind).length;
        assert.ok(seen >= 140 && seen <= 260, `${seen} of 2000`);
        assert.equal(outcomes.filter((outcome) => outcome !== kind && outcome !== 'ok').length, 0, 'no other fault');
        // A reset or hung request leaves no status; their sockets may close just after the client gives up.
        while (mock.stats().inFlight > 0) await delay(10);
        const stats = mock.stats();
        assert.equal(stats.faults[kind], seen, 'the client saw every fault the server counted');
        assert.equal(stats.requests.total, 2000);
        const answered = stats.requests.byStatus[200] ?? 0;
        const expectedAnswered = kind === 'http500' || kind === 'http503' || kind === 'overloaded' || kind === 'reset' || kind === 'hang' ? 2000 - seen : 2000;
        assert.equal(answered, expectedAnswered);
        const intact = (2000 - seen) * records.length + (kind === 'drop' ? seen * (records.length - 1) : 0);
        assert.equal(stats.recordsAnswered, intact, 'cut or invalid answers answer no record');
      } finally {
        await mock.close();
      }
    });
  }

  it('repeats the exact sequence for the same --seed', async () => {
    const options = {
      fail500: 0.1,
      fail503: 0.1,
      failReset: 0.1,
      failBadJson: 0.1,
      failDrop: 0.1,
      failTruncate: 0.1,
    };
    const sequence = async (seed: number) => {
      const mock = await startMockLlm({ ...options, seed });
      try {
        return await run(mock, 300, 1);
      } finally {
        await mock.close();
      }
    };
    const first = await sequence(2024);
    assert.deepEqual(await sequence(2024), first);
    assert.notDeepEqual(await sequence(2025), first);
    assert.ok(new Set(first).size === 7, 'every outcome occurs in the sequence');
  });

  it('releases a hung request when the client aborts, and ends hung requests on close', async () => {
    const mock = await startMockLlm({ failHang: 1 });
    const client = new OpenAI({ baseURL: mock.url, apiKey: 'k', maxRetries: 0, timeout: 60_000 });
    const aborter = new AbortController();
    const aborted = client.chat.completions.create(request, { signal: aborter.signal });
    while (mock.stats().inFlight < 1) await delay(5);
    aborter.abort();
    await assert.rejects(aborted, OpenAI.APIUserAbortError);
    while (mock.stats().inFlight > 0) await delay(5);

    const hanging = client.chat.completions.create(request);
    while (mock.stats().inFlight < 1) await delay(5);
    await mock.close();
    await assert.rejects(hanging, OpenAI.APIConnectionError);
    assert.equal(mock.stats().faults.hang, 2);
  });
});
