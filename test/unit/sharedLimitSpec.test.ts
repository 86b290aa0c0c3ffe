// The shared limit's spec fields and the key that names a limit in Redis.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keyFingerprint, sharedLimitKey } from '../../daemon/limits/sharedLimitStore';
import { JobSetupError } from '../../daemon/pipeline/jobSetup';
import { JobRunner } from '../../daemon/pipeline/jobRunner';
import { SpecError, validateSpec } from '../../daemon/spec/loadSpec';
import { createFixture } from '../support/engineFixture';
import { closedPort } from '../support/ports';

const minimal = { name: 'feedback', source: { type: 'file', path: 'in.jsonl' }, prompt: { template: '{{text}}' } };

function problemsOf(limits: Record<string, unknown>): string[] {
  try {
    validateSpec({ ...minimal, limits });
  } catch (error) {
    assert.ok(error instanceof SpecError);
    return error.problems;
  }
  return [];
}

describe('limits.shared in the spec', () => {
  it('takes a redis:// URL and defaults the key prefix', () => {
    const spec = validateSpec({ ...minimal, limits: { rpm: 500, shared: { redis: 'redis://127.0.0.1:6379/2' } } });
    assert.deepEqual(spec.limits.shared, { redis: 'redis://127.0.0.1:6379/2', keyPrefix: 'drover:' });
    assert.equal(validateSpec({ ...minimal, limits: { tpm: 1000, shared: { redis: 'rediss://cache.example:6380' } } }).limits.shared?.keyPrefix, 'drover:');
  });

  it('needs the limit it shares: rpm and/or tpm', () => {
    const problems = problemsOf({ shared: { redis: 'redis://127.0.0.1:6379' } });
    assert.ok(problems.some((problem) => problem.startsWith('limits.shared: a shared limit needs "rpm" and/or "tpm"')), problems.join('\n'));
  });

  it('refuses a URL that is not Redis, and unknown fields', () => {
    const wrongScheme = problemsOf({ rpm: 10, shared: { redis: 'http://127.0.0.1:6379' } });
    assert.ok(wrongScheme.some((problem) => problem.startsWith('limits.shared.redis: must be a redis:// or rediss:// URL')), wrongScheme.join('\n'));
    const unknown = problemsOf({ rpm: 10, shared: { redis: 'redis://127.0.0.1:6379', ttl: 5 } });
    assert.ok(unknown.some((problem) => problem.startsWith('limits.shared')), unknown.join('\n'));
  });
});

describe('the key of a shared limit', () => {
  const identity = { baseUrl: 'https://user:secret@api.example.com/v1/', apiKey: 'sk-live-abcdef0123456789', model: 'gpt-4.1-mini' };

  it('fingerprints the API key (16 hex of its SHA-256) and never contains it or the URL credentials', () => {
    const key = sharedLimitKey('drover:', identity);
    assert.match(keyFingerprint(identity.apiKey), /^[0-9a-f]{16}$/);
    assert.equal(key, `drover:limit:{https://api.example.com/v1|${keyFingerprint(identity.apiKey)}|gpt-4.1-mini}`);
    assert.doesNotMatch(key, /sk-live|abcdef0123456789|secret|user/);
  });

  it('tells limits apart by endpoint, key and model, and not by a trailing slash', () => {
    const base = sharedLimitKey('p:', identity);
    assert.equal(sharedLimitKey('p:', { ...identity, baseUrl: 'https://api.example.com/v1' }), base);
    assert.notEqual(sharedLimitKey('p:', { ...identity, apiKey: 'sk-other' }), base);
    assert.notEqual(sharedLimitKey('p:', { ...identity, model: 'gpt-4.1' }), base);
    assert.notEqual(sharedLimitKey('p:', { ...identity, baseUrl: 'https://eu.api.example.com/v1' }), base);
  });
});

describe('a job with a shared limit and no Redis', () => {
  it('does not start, and says which Redis it could not reach and what to do', async () => {
    const fixture = await createFixture(10);
    try {
      const port = await closedPort();
      const spec = fixture.spec({ limits: { concurrency: 2, rpm: 60, shared: { redis: `redis://127.0.0.1:${port}` } } });
      await assert.rejects(new JobRunner(spec, { stateDir: fixture.stateDir }).run(), (error: unknown) => {
        assert.ok(error instanceof JobSetupError);
        assert.match(error.message, new RegExp(`limits\\.shared: cannot reach Redis at redis://127\\.0\\.0\\.1:${port}.*Start Redis or fix the URL`));
        return true;
      });
      assert.equal(fixture.mock.stats().requests.total, 0);
      assert.match(fixture.ledger().job()?.statusReason ?? '', /cannot reach Redis/);
    } finally {
      await fixture.cleanup();
    }
  });

  it('takes the Redis password from the environment variable the spec names, and says when it is missing', async () => {
    const fixture = await createFixture(10);
    try {
      const port = await closedPort();
      const spec = fixture.spec({ limits: { rpm: 60, shared: { redis: `redis://127.0.0.1:${port}`, passwordEnv: 'DROVER_TEST_REDIS_PASSWORD' } } });
      await assert.rejects(new JobRunner(spec, { stateDir: fixture.stateDir, env: {} }).run(), /DROVER_TEST_REDIS_PASSWORD is not set/);
      await assert.rejects(
        new JobRunner(spec, { stateDir: fixture.stateDir, env: { DROVER_TEST_REDIS_PASSWORD: 'hunter2' } }).run(),
        (error: unknown) => {
          assert.ok(error instanceof JobSetupError);
          assert.match(error.message, new RegExp(`cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}`));
          assert.doesNotMatch(error.message, /hunter2/);
          return true;
        },
      );
    } finally {
      await fixture.cleanup();
    }
  });
});
