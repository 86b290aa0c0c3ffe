// A Redis of the test's own, on a free port, that the test may kill and restart (the shared
// one at 6379 belongs to everyone). No persistence: a restart comes back empty, as after a
// crash without a dump.
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { closedPort } from './ports';

export interface OwnRedis {
  readonly url: string;
  readonly port: number;
  /** SIGKILLs the server and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port and waits until it answers. */
  restart(): Promise<void>;
  /** Runs one command against it (e.g. SCRIPT FLUSH). */
  command(...args: string[]): Promise<unknown>;
  stop(): Promise<void>;
}

const redisServerPath = process.env.DROVER_TEST_REDIS_SERVER ?? '/usr/bin/redis-server';

async function answers(port: number): Promise<boolean> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await closedPort();
  let child: ChildProcess | null = null;
  const launch = async () => {
    const started = spawn(redisServerPath, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    started.once('error', (error) => {
      throw new Error(`could not start ${redisServerPath}: ${error.message}`);
    });
    child = started;
    const deadline = Date.now() + 10_000;
    while (!(await answers(port))) {
      if (started.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${started.exitCode}`);
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const kill = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    restart: launch,
    async command(...args) {
      const client = new Redis({ port, host: '127.0.0.1' });
      try {
        const [name, ...rest] = args;
        return await client.call(name ?? 'PING', ...rest);
      } finally {
        client.disconnect();
      }
    },
    stop: kill,
  };
}
