// The extension's daemon connection against real daemons (dist/daemon.js), under node's
// test runner: no `vscode` involved, so its state machine is driven directly. Daemons are
// killed on purpose to prove the reconnect and the crash budget.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { readDiscovery } from '../../daemon/daemonClient/discovery';
import { CrashBudget } from '../../extension/daemon/crashBudget';
import { DaemonConnection, DaemonUnavailableError, type DaemonState } from '../../extension/daemon/daemonConnection';
import { daemonPath } from '../support/daemonHarness';
import { stopDaemon } from '../support/codeServer';
import { waitFor } from '../support/cli';

interface Harness {
  connection: DaemonConnection;
  states: DaemonState[];
  connects: number;
  log: string[];
}

function connect(stateDir: string, options: { budget?: CrashBudget; failLaunch?: Error } = {}): Harness {
  const log: string[] = [];
  const harness: Harness = {
    states: [],
    connects: 0,
    log,
    connection: new DaemonConnection({
      stateDir: () => stateDir,
      clientName: 'daemonConnection.test',
      log: { info: (line) => log.push(`info ${line}`), warn: (line) => log.push(`warn ${line}`), error: (line) => log.push(`error ${line}`) },
      launchPlan: async (dir) => {
        if (options.failLaunch) throw options.failLaunch;
        return { command: process.execPath, args: [daemonPath, '--state-dir', dir], env: process.env };
      },
      budget: options.budget,
      backoff: { initialMs: 50, maxMs: 200 },
    }),
  };
  harness.connection.onDidChangeState(({ state }) => harness.states.push(state));
  harness.connection.onDidConnect(() => (harness.connects += 1));
  return harness;
}

const daemonPid = (stateDir: string) => readDiscovery(stateDir)?.pid;

describe('DaemonConnection', () => {
  let scratch: string;
  let stateDir: string;
  const open: Harness[] = [];
  const track = (harness: Harness) => {
    open.push(harness);
    return harness;
  };

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'drover-connection-'));
  });

  afterEach(async () => {
    for (const harness of open.splice(0)) await harness.connection.dispose();
    await stopDaemon(stateDir);
  });

  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('starts nothing until asked, then starts one daemon that a second window attaches to', async () => {
    stateDir = join(scratch, 'first-use');
    const first = track(connect(stateDir));
    assert.equal(first.connection.state, 'stopped');
    assert.equal(daemonPid(stateDir), undefined);

    const client = await first.connection.client();
    assert.deepEqual(first.states, ['starting', 'running']);
    assert.equal(first.connects, 1);
    const pid = daemonPid(stateDir);
    assert.equal(first.connection.daemon?.pid, pid);
    assert.equal((await client.call('job.list', {})).jobs.length, 0);
    assert.equal(await first.connection.client(), client, 'a running connection is reused');

    const second = track(connect(stateDir));
    await second.connection.client();
    assert.equal(second.connection.daemon?.pid, pid, 'the second window attaches to the running daemon');
    assert.ok(second.log.some((line) => line.startsWith('info attached to the Drover daemon')));
  });

  it('starts a new daemon and reconnects when the daemon dies', async () => {
    stateDir = join(scratch, 'reconnect');
    const harness = track(connect(stateDir));
    await harness.connection.client();
    const firstPid = daemonPid(stateDir);
    assert.ok(firstPid);
    process.kill(firstPid, 'SIGKILL');
    await waitFor(() => harness.connects === 2 && harness.connection.state === 'running', 20_000, 'the connection to come back');
    assert.deepEqual(harness.states, ['starting', 'running', 'reconnecting', 'running']);
    const secondPid = harness.connection.daemon?.pid;
    assert.ok(secondPid !== undefined && secondPid !== firstPid, 'a new daemon serves the state directory');
    assert.equal(daemonPid(stateDir), secondPid);
    const client = await harness.connection.client();
    assert.deepEqual((await client.call('job.list', {})).jobs, []);
  });

  it('gives up after the crash budget is spent, says so, and starts again on restart()', async () => {
    stateDir = join(scratch, 'budget');
    const harness = track(connect(stateDir, { budget: new CrashBudget({ maxCrashes: 3, windowMs: 60_000 }) }));
    await harness.connection.client();
    for (let crash = 1; crash <= 3; crash += 1) {
      const pid = harness.connection.daemon?.pid;
      assert.ok(pid, `crash ${crash}: a daemon should be running`);
      process.kill(pid, 'SIGKILL');
      if (crash < 3) await waitFor(() => harness.connects === crash + 1 && harness.connection.state === 'running', 20_000, `reconnect ${crash}`);
    }
    await waitFor(() => harness.connection.state === 'failed', 20_000, 'the connection to give up');
    // Twice lost and back, the third loss spends the budget: no more reconnecting.
    assert.deepEqual(harness.states, ['starting', 'running', 'reconnecting', 'running', 'reconnecting', 'running', 'failed']);
    assert.ok(harness.log.some((line) => /stopped 3 times within 1 minutes; Drover will not restart it again/.test(line)));
    await assert.rejects(harness.connection.client(), (error: unknown) => {
      assert.ok(error instanceof DaemonUnavailableError);
      assert.equal(error.gaveUp, true);
      assert.match(error.message, /Restart Daemon/);
      return true;
    });

    await harness.connection.restart();
    assert.equal(harness.connection.state, 'running');
    assert.ok(harness.connection.daemon?.pid);
  });

  it('fails with the launch problem when no daemon can start, and tries again on the next use', async () => {
    stateDir = join(scratch, 'no-runtime');
    const problem = new Error('No Node.js can run the Drover daemon (test)');
    const harness = track(connect(stateDir, { failLaunch: problem }));
    await assert.rejects(harness.connection.client(), (error: unknown) => {
      assert.ok(error instanceof DaemonUnavailableError);
      assert.equal(error.gaveUp, false);
      assert.equal(error.message, problem.message);
      return true;
    });
    assert.deepEqual(harness.states, ['starting', 'failed']);
    await assert.rejects(harness.connection.client(), DaemonUnavailableError);
    assert.deepEqual(harness.states, ['starting', 'failed', 'starting', 'failed']);
  });

  it('dispose() closes the window\'s connection and leaves the daemon running', async () => {
    stateDir = join(scratch, 'dispose');
    const harness = connect(stateDir);
    await harness.connection.client();
    const pid = daemonPid(stateDir);
    await harness.connection.dispose();
    assert.equal(harness.states.at(-1), 'stopped');
    assert.ok(pid !== undefined && daemonPid(stateDir) === pid);
    process.kill(pid, 0); // still alive: throws otherwise
    await assert.rejects(harness.connection.client(), DaemonUnavailableError);
  });
});
