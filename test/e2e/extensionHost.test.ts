// The extension's integration suite (test/extension) inside code-server's real extension
// host, driven from a real browser; needs the build (dist/) and scripts/install-code-server.sh.
// The suite runs jobs, so the host gets a state directory of its own; the daemon the
// extension starts is stopped at the end with code-server.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { extensionTestReportVariable } from '../extension/report';
import { type CodeServer, startCodeServer, stopDaemon } from '../support/codeServer';
import { filesContaining } from '../support/fileSearch';
import { runExtensionTests } from '../support/workbench';

const repoRoot = resolve(__dirname, '..', '..');
const suiteEntry = join(repoRoot, 'dist', 'test', 'extension', 'index.js');

describe('extension-host suite in code-server', () => {
  let scratch: string;
  let home: string;
  let server: CodeServer;
  // Set with "Set API Key" inside the suite; must turn up in no file afterwards.
  const secret = `sk-drover-${randomBytes(12).toString('hex')}`;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'drover-e2e-host-'));
    const workspace = join(scratch, 'workspace');
    home = join(scratch, 'drover-home');
    await mkdir(workspace);
    server = await startCodeServer({
      workspace,
      extensionDevelopmentPath: repoRoot,
      env: { [extensionTestReportVariable]: join(scratch, 'report.json'), DROVER_HOME: home, DROVER_TEST_SECRET: secret },
    });
  });

  after(async () => {
    await stopDaemon(home);
    await server?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('runs every test of the suite and they pass', async () => {
    const run = await runExtensionTests(server, suiteEntry);
    const failures = run.report.failures.map((test) => `${test.fullTitle}: ${test.err.message ?? ''}`);
    assert.equal(run.exitCode, 0, `failures:\n${failures.join('\n')}\nconsole:\n${run.consoleLines.join('\n')}`);
    assert.deepEqual(run.report.passes.map((test) => test.fullTitle).sort(), [
      'Drover extension does not start or reach a daemon on activation',
      'Drover extension is installed and stays inactive until a Drover command is used',
      'Drover extension registers every contributed command once activated by drover.showLogs',
      'Drover extension shows the "Drover" log channel with the activation line in it',
      'Drover jobs in the extension host restores a dashboard through the WebviewPanelSerializer, with a snapshot after the webview is ready',
      'Drover jobs in the extension host runs a job file against the mock LLM: the daemon starts, the tree fills, the job completes',
      'Drover jobs in the extension host sends a dashboard at most 10 progress updates a second, none while hidden, and a snapshot when shown again',
      'Drover jobs in the extension host sends the key from "Set API Key" to the daemon, and keeps it out of settings and $DROVER_HOME',
      'Drover jobs in the extension host validates *.drover.json files against the job schema, comments allowed',
    ]);
    assert.equal(run.report.stats.failures, 0);
    assert.equal(run.report.stats.pending, 0);
    // The suite checked $DROVER_HOME and the workspace from inside; the editor's own
    // profile (settings, state databases, logs) is only visible from here.
    assert.deepEqual(filesContaining(server.userDataDir, secret), []);
    assert.deepEqual(filesContaining(home, secret), []);
  });

  it('turns a failing test into exit code 1 and names it in the report', async () => {
    // The same runner beside a suite that fails on purpose: proves a failure is not lost
    // between the extension host, the workbench and the report.
    const failingSuite = join(scratch, 'failing-suite');
    await mkdir(failingSuite);
    await copyFile(suiteEntry, join(failingSuite, 'index.js'));
    await symlink(join(repoRoot, 'node_modules'), join(failingSuite, 'node_modules'));
    await writeFile(
      join(failingSuite, 'deliberate.suite.js'),
      `describe('deliberately', () => {
        it('passes', () => {});
        it('fails', () => { throw new Error('this failure is expected'); });
      });`,
    );
    const run = await runExtensionTests(server, join(failingSuite, 'index.js'));
    assert.equal(run.exitCode, 1);
    assert.deepEqual(
      run.report.failures.map((test) => [test.fullTitle, test.err.message]),
      [['deliberately fails', 'this failure is expected']],
    );
    assert.deepEqual(
      run.report.passes.map((test) => test.fullTitle),
      ['deliberately passes'],
    );
  });
});
