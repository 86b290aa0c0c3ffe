// The extension's integration suite (test/extension) inside code-server's real extension
// host, driven from a real browser; needs the build (dist/) and scripts/install-code-server.sh.
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { extensionTestReportVariable } from '../extension/report';
import { type CodeServer, startCodeServer } from '../support/codeServer';
import { runExtensionTests } from '../support/workbench';

const repoRoot = resolve(__dirname, '..', '..');
const suiteEntry = join(repoRoot, 'dist', 'test', 'extension', 'index.js');

describe('extension-host suite in code-server', () => {
  let scratch: string;
  let server: CodeServer;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'drover-e2e-host-'));
    const workspace = join(scratch, 'workspace');
    await mkdir(workspace);
    server = await startCodeServer({
      workspace,
      extensionDevelopmentPath: repoRoot,
      env: { [extensionTestReportVariable]: join(scratch, 'report.json') },
    });
  });

  after(async () => {
    await server?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('runs every test of the suite and they pass', async () => {
    const run = await runExtensionTests(server, suiteEntry);
    const failures = run.report.failures.map((test) => `${test.fullTitle}: ${test.err.message ?? ''}`);
    assert.equal(run.exitCode, 0, `failures:\n${failures.join('\n')}\nconsole:\n${run.consoleLines.join('\n')}`);
    assert.deepEqual(run.report.passes.map((test) => test.fullTitle).sort(), [
      'Drover extension is installed and stays inactive until a Drover command is used',
      'Drover extension registers drover.showLogs, which activates the extension',
      'Drover extension shows the "Drover" log channel with the activation line in it',
    ]);
    assert.equal(run.report.stats.failures, 0);
    assert.equal(run.report.stats.pending, 0);
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
