// The real services tests run against. They run on every machine, CI included; a test
// that needs one fails loudly when it is missing, it never skips.
import { createConnection } from 'node:net';

export const postgresUrl = process.env.DROVER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const redisUrl = process.env.DROVER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function reachable(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function requireService(name: string, url: string, startHint: string): Promise<void> {
  const { hostname, port } = new URL(url);
  if (await reachable(hostname, Number(port))) return;
  throw new Error(`${name} is not reachable at ${hostname}:${port}. These tests need it; start it with: ${startHint}`);
}

export const requirePostgres = () =>
  requireService('PostgreSQL', postgresUrl, 'pg_ctlcluster --skip-systemctl-redirect 15 main start');
export const requireRedis = () =>
  requireService('Redis', redisUrl, 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ""');
