// One limit's state in Redis, reached through ioredis: the scripts of `sharedLimitScripts.ts`
// as custom commands (EVALSHA, reloaded by ioredis on NOSCRIPT, e.g. after SCRIPT FLUSH or a
// restart), with typed answers. The connection fails fast while Redis is away (no offline
// queue, no retries per command, short timeouts), so the limiter can fall back within about
// a second instead of waiting on a queue that only drains when Redis returns.
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { acquireScript, adjustScript, heartbeatScript, holdScript } from './sharedLimitScripts';

export interface SharedLimitIdentity {
  /** The endpoint's base URL; credentials in it are dropped. */
  baseUrl: string;
  /** The API key, only ever hashed. */
  apiKey: string | undefined;
  model: string;
}

/** First 16 hex digits of the key's SHA-256: tells limits apart, never reveals the key. */
export function keyFingerprint(apiKey: string | undefined): string {
  return apiKey ? createHash('sha256').update(apiKey).digest('hex').slice(0, 16) : 'nokey';
}

/** The Redis key stem of one provider limit: (endpoint, key fingerprint, model). */
export function sharedLimitKey(prefix: string, identity: SharedLimitIdentity): string {
  const url = new URL(identity.baseUrl);
  url.username = '';
  url.password = '';
  const endpoint = url.toString().replace(/\/+$/, '');
  // The braces are a hash tag: the limit's keys share one slot, as a script's keys must.
  return `${prefix}limit:{${endpoint}|${keyFingerprint(identity.apiKey)}|${identity.model}}`;
}

export interface BucketParameters {
  rpm: number;
  tpm: number;
  requestCapacity: number;
  tokenCapacity: number;
  windowMs: number;
}

export interface AcquireAnswer {
  /** 0: admitted; otherwise how long until it could be. */
  waitMs: number;
  liveWorkers: number;
  requestsLevel: number | null;
  tokensLevel: number | null;
}

/**
 * A waiting worker asks at least every 250 ms (SharedAdmission's longest poll); one silent
 * for four times that has stopped waiting and must not hold the others back.
 */
const staleWaitMs = 1000;

type ScriptCommand = (...args: (string | number)[]) => Promise<unknown>;

const commandNames = { acquire: 'droverLimitAcquire', adjust: 'droverLimitAdjust', hold: 'droverLimitHold', heartbeat: 'droverLimitHeartbeat' } as const;

function integers(reply: unknown, length: number): number[] {
  if (!Array.isArray(reply) || reply.length !== length || !reply.every((value) => typeof value === 'number')) {
    throw new Error(`unexpected answer from the shared limit script: ${JSON.stringify(reply)}`);
  }
  return reply;
}

export class SharedLimitStore {
  private readonly bucketKey: string;
  private readonly holdKey: string;
  private readonly workersKey: string;
  private readonly queueKeys: [string, string, string];

  private constructor(
    private readonly redis: Redis,
    stem: string,
    private readonly workerId: string,
    private readonly parameters: BucketParameters,
    private readonly staleMs: number,
  ) {
    this.bucketKey = `${stem}:bucket`;
    this.holdKey = `${stem}:hold`;
    this.workersKey = `${stem}:workers`;
    this.queueKeys = [`${stem}:queue`, `${stem}:seen`, `${stem}:costs`];
  }

  /** Connects (or throws within about `connectTimeoutMs`) and registers this worker. */
  static async open(url: string, stem: string, workerId: string, parameters: BucketParameters, staleMs: number): Promise<{ store: SharedLimitStore; liveWorkers: number }> {
    const redis = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1000,
      commandTimeout: 1000,
      // Keep trying to reconnect: the limiter goes back to Redis as soon as it answers.
      retryStrategy: () => 500,
    });
    // Failures reach the limiter through the commands; without a listener ioredis prints them.
    redis.on('error', () => undefined);
    redis.defineCommand(commandNames.acquire, { numberOfKeys: 6, lua: acquireScript });
    redis.defineCommand(commandNames.adjust, { numberOfKeys: 1, lua: adjustScript });
    redis.defineCommand(commandNames.hold, { numberOfKeys: 2, lua: holdScript });
    redis.defineCommand(commandNames.heartbeat, { numberOfKeys: 1, lua: heartbeatScript });
    const store = new SharedLimitStore(redis, stem, workerId, parameters, staleMs);
    try {
      await redis.connect();
      return { store, liveWorkers: await store.heartbeat() };
    } catch (error) {
      redis.disconnect();
      throw error;
    }
  }

  private command(name: (typeof commandNames)[keyof typeof commandNames]): ScriptCommand {
    const command = (this.redis as unknown as Record<string, ScriptCommand>)[name];
    return command.bind(this.redis);
  }

  async acquire(tokens: number): Promise<AcquireAnswer> {
    const p = this.parameters;
    const reply = await this.command(commandNames.acquire)(
      this.bucketKey, this.holdKey, this.workersKey, ...this.queueKeys,
      p.rpm, p.tpm, p.requestCapacity, p.tokenCapacity, p.windowMs, tokens, this.workerId, this.staleMs, staleWaitMs,
    );
    const [waitMs, liveWorkers, requestsLevel, tokensLevel] = integers(reply, 4);
    return {
      waitMs,
      liveWorkers,
      requestsLevel: requestsLevel < 0 ? null : requestsLevel,
      tokensLevel: tokensLevel < 0 ? null : tokensLevel,
    };
  }

  async adjustTokens(delta: number): Promise<void> {
    const p = this.parameters;
    await this.command(commandNames.adjust)(this.bucketKey, p.tpm, p.tokenCapacity, p.windowMs, delta);
  }

  async hold(ms: number): Promise<void> {
    const p = this.parameters;
    await this.command(commandNames.hold)(this.bucketKey, this.holdKey, p.rpm, p.tpm, p.requestCapacity, p.tokenCapacity, p.windowMs, Math.max(1, Math.ceil(ms)));
  }

  /** Registers this worker as live; returns how many are. */
  async heartbeat(): Promise<number> {
    const [live] = integers([await this.command(commandNames.heartbeat)(this.workersKey, this.workerId, this.staleMs)], 1);
    return live;
  }

  /** Leaves the live workers and the queue (best effort) and closes the connection. */
  async close(): Promise<void> {
    const [queue, seen, costs] = this.queueKeys;
    await Promise.all([
      this.redis.zrem(this.workersKey, this.workerId),
      this.redis.zrem(queue, this.workerId),
      this.redis.zrem(seen, this.workerId),
      this.redis.hdel(costs, this.workerId),
    ]).catch(() => undefined);
    this.redis.disconnect();
  }
}
