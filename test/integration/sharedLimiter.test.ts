// The shared limiter itself against real Redis: several SharedAdmission instances (as
// several engines would hold) on one limit. The shared server at 6379 with a key prefix of
// the test's own; a Redis of the test's own where it is killed or its scripts flushed.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { systemClock } from '../../daemon/limits/clock';
import { SharedAdmission, SharedLimitUnavailableError, type SharedAdmissionOptions } from '../../daemon/limits/sharedAdmission';
import { closedPort } from '../support/ports';
import { startOwnRedis } from '../support/redisServer';
import { redisUrl, requireRedis } from '../support/services';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const prefixes: string[] = [];

function options(overrides: Partial<SharedAdmissionOptions> = {}): SharedAdmissionOptions & { logs: string[] } {
  const logs: string[] = [];
  const keyPrefix = `drover-test:${randomUUID()}:`;
  prefixes.push(keyPrefix);
  return {
    redisUrl,
    keyPrefix,
    identity: { baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-test-not-a-real-key', model: 'gpt-4.1-mini' },
    rpm: 20,
    largestRequestTokens: 100,
    windowMs: 1000,
    clock: systemClock,
    heartbeatMs: 200,
    log: (level, message) => logs.push(`${level}: ${message}`),
    logs,
    ...overrides,
  };
}

/** Takes `count` admissions from `limiter` as fast as it allows; returns when each came. */
async function admitTimes(limiter: SharedAdmission, count: number, tokens = 1): Promise<number[]> {
  const times: number[] = [];
  for (let index = 0; index < count; index += 1) {
    await limiter.acquire(tokens);
    times.push(Date.now());
  }
  return times;
}

/** The most of `times` that fall within any window of `windowMs`. */
function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end += 1) {
    while (sorted[end] - sorted[start] >= windowMs) start += 1;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

describe('shared limiter on real Redis', () => {
  before(requireRedis);
  after(async () => {
    const redis = new Redis(redisUrl);
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
  });

  it('holds one limit across three limiters: no window over it, each a fair share', async () => {
    const shared = options({ rpm: 30 });
    const limiters = await Promise.all([0, 1, 2].map(() => SharedAdmission.open({ ...shared, keyPrefix: shared.keyPrefix })));
    try {
      const started = Date.now();
      const perLimiter: number[][] = [[], [], []];
      // Each takes as much as it can for 2.5 windows.
      await Promise.all(
        limiters.map(async (limiter, index) => {
          while (Date.now() - started < 2500) {
            await limiter.acquire(1);
            perLimiter[index]?.push(Date.now());
          }
        }),
      );
      const all = perLimiter.flat();
      assert.ok(busiestWindow(all, 1000) <= 30, `${busiestWindow(all, 1000)} admissions in one window (limit 30)`);
      assert.ok(all.length >= 60, `${all.length} admissions in 2.5 windows: the limit was used`);
      const fair = all.length / 3;
      for (const times of perLimiter) assert.ok(Math.abs(times.length - fair) <= fair * 0.25, `shares ${perLimiter.map((t) => t.length).join(', ')}`);
    } finally {
      await Promise.all(limiters.map((limiter) => limiter.close()));
    }
  });

  it('a 429 on one engine holds every engine, and none bursts when the cooldown ends', async () => {
    const shared = options({ rpm: 60, tpm: 6000 });
    const [first, second] = await Promise.all([SharedAdmission.open(shared), SharedAdmission.open(shared)]);
    assert.ok(first && second);
    try {
      await admitTimes(first, 1, 10);
      first.holdFor(600);
      await sleep(50); // the cooldown reaches Redis
      const heldAt = Date.now();
      const times = await admitTimes(second, 4, 10);
      assert.ok(times[0] - heldAt >= 450, `the other limiter waited ${times[0] - heldAt} ms of a 600 ms cooldown`);
      // The buckets restart empty at the reset: one request per refill period (≈ 17 ms at
      // 60 per second), not a burst of the capacity.
      assert.ok(times[3] - times[0] >= 40, `4 admissions ${times[3] - times[0]} ms apart after the reset`);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('refunds an over-reservation and charges an under-estimate to the shared token bucket', async () => {
    const shared = options({ rpm: undefined, tpm: 1000, largestRequestTokens: 400 });
    const limiter = await SharedAdmission.open(shared);
    try {
      const ticket = await limiter.acquire(400);
      limiter.settle(ticket, 100);
      await sleep(20);
      await limiter.acquire(300); // fits only because 300 of the 400 came back
      const before = limiter.headroom().tokens?.available ?? -1;
      assert.ok(before <= 100, `${before} tokens left`);
    } finally {
      await limiter.close();
    }
  });

  it('refuses to start, naming the URL without its password, when Redis cannot be reached', async () => {
    const port = await closedPort();
    await assert.rejects(
      SharedAdmission.open(options({ redisUrl: `redis://:hunter2@127.0.0.1:${port}` })),
      (error: unknown) => {
        assert.ok(error instanceof SharedLimitUnavailableError);
        assert.match(error.message, new RegExp(`cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}`));
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      },
    );
  });

  it('reloads its scripts after SCRIPT FLUSH, without falling back', async () => {
    const own = await startOwnRedis();
    const shared = options({ redisUrl: own.url, rpm: 600 });
    const limiter = await SharedAdmission.open(shared);
    try {
      await admitTimes(limiter, 3);
      assert.equal(await own.command('SCRIPT', 'FLUSH'), 'OK');
      await admitTimes(limiter, 3);
      assert.equal(limiter.fallenBack, false);
      assert.deepEqual(shared.logs, []);
    } finally {
      await limiter.close();
      await own.stop();
    }
  });

  it('falls back to its share within a second when Redis dies, and goes back when it returns', async () => {
    const own = await startOwnRedis();
    const shared = options({ redisUrl: own.url, rpm: 120 });
    const [first, second] = await Promise.all([SharedAdmission.open(shared), SharedAdmission.open(shared)]);
    assert.ok(first && second);
    try {
      await admitTimes(first, 2);
      await admitTimes(second, 2);
      await own.kill();
      const killedAt = Date.now();
      await admitTimes(first, 1);
      assert.ok(first.fallenBack);
      assert.ok(Date.now() - killedAt < 1500, `fell back after ${Date.now() - killedAt} ms`);
      // Its share: 120 ÷ 2 live workers per second, from an empty bucket.
      const times = await admitTimes(first, 20);
      const perSecond = (times.length - 1) / ((times.at(-1)! - times[0]) / 1000);
      assert.ok(perSecond <= 62, `${perSecond.toFixed(1)} admissions per second on the fallback (share 60)`);
      const fallbackLogs = shared.logs.filter((line) => line.includes('Redis is not answering'));
      assert.ok(fallbackLogs.length >= 1 && fallbackLogs.length <= 2, shared.logs.join('\n')); // once per limiter
      assert.match(fallbackLogs[0] ?? '', /limiting this engine to 60 rpm \(the limit ÷ 2 live workers\)/);
      await own.restart();
      const deadline = Date.now() + 5000;
      while (first.fallenBack && Date.now() < deadline) await sleep(50);
      assert.equal(first.fallenBack, false, 'back on Redis after it returned');
      assert.ok(shared.logs.some((line) => line.includes('Redis answers again')), shared.logs.join('\n'));
      await admitTimes(first, 2);
    } finally {
      await first.close();
      await second.close();
      await own.stop();
    }
  });
});
