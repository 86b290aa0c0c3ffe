import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { rpcErrorCode, type JobState } from '../../daemon/protocol/rpc';
import { DaemonLog } from '../../daemon/server/daemonLog';
import { daemonMethods, type JobSubscriber } from '../../daemon/server/daemonMethods';
import { JobManager } from '../../daemon/server/jobManager';
import { Redactor } from '../../daemon/server/redactor';
import { RpcDispatcher, type MethodHandlers } from '../../daemon/server/rpcDispatcher';

/** The caller: what a client session records of its subscriptions. */
class Subscriptions implements JobSubscriber {
  readonly jobs = new Set<string>();
  subscribe(jobId: string): void {
    this.jobs.add(jobId);
  }
  unsubscribe(jobId: string): void {
    this.jobs.delete(jobId);
  }
}

type Answer = { id: unknown; result?: unknown; error?: { code: number; message: string; data?: unknown } };

describe('the JSON-RPC dispatcher (the daemon methods on a real state directory)', () => {
  let dir: string;
  let handlers: MethodHandlers<Subscriptions>;
  const internalErrors: unknown[] = [];
  const redactor = new Redactor();
  redactor.hold('held-secret-123456');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drover-rpc-'));
    const log = new DaemonLog({ file: join(dir, 'logs', 'daemon.log'), redactor, stderr: null });
    const states: JobState[] = [];
    const manager = new JobManager({
      stateDir: dir,
      env: {},
      events: { progress: () => undefined, log: () => undefined, errors: () => undefined, state: (state) => states.push(state) },
      log,
      redactor,
      engineTickMs: 50,
      onActivity: () => undefined,
    });
    handlers = daemonMethods<Subscriptions>(manager, { stateDir: dir, startedAt: new Date().toISOString() });
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const dispatcher = (overrides: Partial<MethodHandlers<Subscriptions>> = {}) =>
    new RpcDispatcher<Subscriptions>({ ...handlers, ...overrides }, { internalError: (error) => internalErrors.push(error), redact: (text) => redactor.redact(text) });

  async function ask(text: string, overrides: Partial<MethodHandlers<Subscriptions>> = {}): Promise<Answer> {
    const answer = await dispatcher(overrides).handleText(text, new Subscriptions());
    assert.ok(answer !== null, 'an answer is owed');
    return JSON.parse(answer) as Answer;
  }

  it('answers hello with the versions, the pid and the state directory', async () => {
    const answer = await ask('{"jsonrpc":"2.0","id":1,"method":"hello","params":{"client":"test"}}');
    assert.deepEqual(Object.keys(answer.result as object).sort(), ['daemonVersion', 'pid', 'protocolVersion', 'startedAt', 'stateDir']);
    assert.equal((answer.result as { pid: number }).pid, process.pid);
    assert.equal((answer.result as { stateDir: string }).stateDir, dir);
  });

  it('maps each kind of bad message to its code', async () => {
    assert.equal((await ask('{"jsonrpc":"2.0","id":1,')).error?.code, rpcErrorCode.parseError);
    assert.equal((await ask('{"jsonrpc":"1.0","id":7,"method":"hello"}')).error?.code, rpcErrorCode.invalidRequest);
    assert.equal((await ask('{"jsonrpc":"1.0","id":7,"method":"hello"}')).id, 7);
    assert.equal((await ask('42')).error?.code, rpcErrorCode.invalidRequest);
    assert.equal((await ask('{"jsonrpc":"2.0","id":2,"method":"job.nope"}')).error?.code, rpcErrorCode.methodNotFound);
    assert.equal((await ask('{"jsonrpc":"2.0","id":2,"method":"toString"}')).error?.code, rpcErrorCode.methodNotFound);
    const badParams = await ask('{"jsonrpc":"2.0","id":3,"method":"results.page","params":{"jobId":"a","limit":5000}}');
    assert.equal(badParams.error?.code, rpcErrorCode.invalidParams);
    assert.match(badParams.error?.message ?? '', /limit/);
    assert.deepEqual((badParams.error?.data as { issues: { path: unknown[] }[] }).issues[0].path, ['limit']);
    assert.equal((await ask('{"jsonrpc":"2.0","id":4,"method":"job.get","params":["a"]}')).error?.code, rpcErrorCode.invalidParams);
    assert.equal((await ask('{"jsonrpc":"2.0","id":5,"method":"job.get","params":{"jobId":"../../etc"}}')).error?.code, rpcErrorCode.invalidParams);
  });

  it('answers application errors with their stable codes', async () => {
    assert.equal((await ask('{"jsonrpc":"2.0","id":1,"method":"job.get","params":{"jobId":"missing"}}')).error?.code, rpcErrorCode.jobNotFound);
    assert.equal((await ask('{"jsonrpc":"2.0","id":1,"method":"job.pause","params":{"jobId":"missing"}}')).error?.code, rpcErrorCode.jobNotFound);
    const invalid = await ask('{"jsonrpc":"2.0","id":2,"method":"job.start","params":{"spec":{"name":"x","source":{"type":"sqlite"}}}}');
    assert.equal(invalid.error?.code, rpcErrorCode.specInvalid);
    assert.ok(((invalid.error?.data as { problems: string[] }).problems).some((problem) => problem.startsWith('source.path')));
    const relative = await ask(
      '{"jsonrpc":"2.0","id":3,"method":"source.preview","params":{"spec":{"name":"x","source":{"type":"file","path":"in.jsonl"},"prompt":{"template":"{{text}}"}}}}',
    );
    assert.equal(relative.error?.code, rpcErrorCode.specInvalid);
    assert.match(relative.error?.message ?? '', /source\.path "in\.jsonl" is relative: pass baseDir/);
    const missingFile = await ask(
      `{"jsonrpc":"2.0","id":4,"method":"source.preview","params":{"baseDir":${JSON.stringify(dir)},"spec":{"name":"x","source":{"type":"file","path":"in.jsonl"},"prompt":{"template":"{{text}}"}}}}`,
    );
    assert.equal(missingFile.error?.code, rpcErrorCode.sourceError);
  });

  it('subscribes the caller to a job only when the job exists', async () => {
    const caller = new Subscriptions();
    const answer = JSON.parse((await dispatcher().handleText('{"jsonrpc":"2.0","id":1,"method":"job.subscribe","params":{"jobId":"ghost"}}', caller)) ?? '') as Answer;
    assert.equal(answer.error?.code, rpcErrorCode.jobNotFound);
    assert.equal(caller.jobs.size, 0);
  });

  it('answers a bug as an internal error without its stack, reports it, and redacts messages', async () => {
    const answer = await ask('{"jsonrpc":"2.0","id":9,"method":"job.list"}', {
      'job.list': () => {
        throw new TypeError('boom at held-secret-123456');
      },
    });
    assert.equal(answer.error?.code, rpcErrorCode.internalError);
    assert.doesNotMatch(JSON.stringify(answer), /boom|held-secret|at .*\.ts/);
    assert.ok(internalErrors.some((error) => error instanceof TypeError));
    const known = await ask('{"jsonrpc":"2.0","id":10,"method":"job.list"}', {
      'job.list': () => {
        throw Object.assign(new Error('cannot open with key held-secret-123456'), { name: 'SourceError' });
      },
    });
    assert.equal(known.error?.code, rpcErrorCode.sourceError);
    assert.equal(known.error?.message, 'cannot open with key [redacted]');
  });

  it('refuses a result that does not match its schema, as an internal error', async () => {
    const answer = await ask('{"jsonrpc":"2.0","id":1,"method":"job.list"}', { 'job.list': () => ({ jobs: [{ jobId: 'x' }] }) as never });
    assert.equal(answer.error?.code, rpcErrorCode.internalError);
  });

  it('owes nothing for notifications and answers batches in one array', async () => {
    assert.equal(await dispatcher().handleText('{"jsonrpc":"2.0","method":"hello"}', new Subscriptions()), null);
    assert.equal(await dispatcher().handleText('{"jsonrpc":"2.0","method":"no.such"}', new Subscriptions()), null);
    const batch = JSON.parse(
      (await dispatcher().handleText('[{"jsonrpc":"2.0","id":1,"method":"job.list"},{"jsonrpc":"2.0","method":"hello"},{"jsonrpc":"2.0","id":2,"method":"nope"}]', new Subscriptions())) ?? '',
    ) as Answer[];
    assert.deepEqual(batch.map((answer) => answer.id), [1, 2]);
    assert.deepEqual((batch[0].result as { jobs: unknown[] }).jobs, []);
    assert.equal(batch[1].error?.code, rpcErrorCode.methodNotFound);
    assert.equal((await ask('[]')).error?.code, rpcErrorCode.invalidRequest);
  });
});
