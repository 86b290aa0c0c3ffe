import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import OpenAI from 'openai';
import { analyseSentiment } from '../../daemon/mockLlm/analyst';

const cliArgs = ['--import', 'tsx', 'daemon/cli/main.ts', 'mock-llm'];
const started: ChildProcessWithoutNullStreams[] = [];

function startCli(args: string[]): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, [...cliArgs, ...args], { cwd: process.cwd() });
  started.push(child);
  return child;
}

async function firstLine(child: ChildProcessWithoutNullStreams): Promise<string> {
  const lines = createInterface({ input: child.stdout });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`mock-llm exited (${String(code)}) before printing its URL`);
  });
  try {
    const [line] = (await Promise.race([once(lines, 'line'), exited])) as [string];
    return line;
  } finally {
    lines.close();
  }
}

async function exitOf(child: ChildProcessWithoutNullStreams) {
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return { code, signal, stderr };
}

describe('drover mock-llm (the CLI)', () => {
  after(() => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('prints its URL as one JSON line, serves the openai client, and exits 0 on SIGTERM', async () => {
    const child = startCli(['--port', '0', '--api-key', 'sk-cli-key', '--rpm', '50', '--models', 'mock-analyst,gpt-4.1']);
    const line = await firstLine(child);
    const { url } = JSON.parse(line) as { url: string };
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    assert.deepEqual(JSON.parse(line), { url });

    const client = new OpenAI({ baseURL: url, apiKey: 'sk-cli-key', maxRetries: 0 });
    const { data, response } = await client.chat.completions
      .create({ model: 'mock-analyst', messages: [{ role: 'user', content: 'Awful, it broke.' }] })
      .withResponse();
    assert.deepEqual(JSON.parse(data.choices[0].message.content!), {
      results: [{ id: '1', ...analyseSentiment('Awful, it broke.') }],
    });
    assert.equal(response.headers.get('x-ratelimit-limit-requests'), '50');
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    assert.deepEqual(models, ['mock-analyst', 'gpt-4.1']);
    await assert.rejects(
      new OpenAI({ baseURL: url, apiKey: 'sk-other', maxRetries: 0 }).models.list(),
      OpenAI.AuthenticationError,
    );

    const exit = exitOf(child);
    child.kill('SIGTERM');
    const { code, signal } = await exit;
    assert.equal(signal, null);
    assert.equal(code, 0);
  });

  it('exits 0 on SIGINT too', async () => {
    const child = startCli(['--port', '0']);
    await firstLine(child);
    const exit = exitOf(child);
    child.kill('SIGINT');
    const result = await exit;
    assert.equal(result.code, 0, JSON.stringify(result));
  });

  it('refuses bad options with exit code 2, naming the option', async () => {
    for (const [args, message] of [
      [['--rpm', 'lots'], /--rpm: expected a number, got "lots"/],
      [['--jitter', '2'], /--jitter: .*<=1/],
      [['--fail-500', '0.7', '--fail-hang', '0.7'], /must add up to at most 1/],
      [['--bogus'], /Unknown option '--bogus'/],
    ] as const) {
      const { code, stderr } = await exitOf(startCli([...args]));
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, message);
    }
  });

  it('lists every option with its default in --help', async () => {
    const child = startCli(['--help']);
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    assert.equal((await exitOf(child)).code, 0);
    for (const option of [
      '--port N', '--host H', '--models', '--latency-ms', '--latency-per-token-ms', '--jitter', '--rpm', '--tpm',
      '--no-ratelimit-headers', '--context', '--api-key', '--quota-after', '--fail-500', '--fail-503', '--fail-reset',
      '--fail-hang', '--fail-badjson', '--fail-drop', '--fail-truncate', '--seed',
    ]) {
      assert.ok(stdout.includes(option), option);
    }
    assert.match(stdout, /--window-ms MS .*\(default: 60000\)/);
  });
});
