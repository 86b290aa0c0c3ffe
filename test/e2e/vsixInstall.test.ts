// The VSIX that `npm run package` builds, installed into code-server the way a user installs
// it (--install-extension), runs a job with the daemon it carries: dist/daemon.js and
// dist/jobWorker.js from the installed extension, better-sqlite3's native build from its
// node_modules. Packs the current build (dist/) with the package script's vsce command,
// or takes the VSIX that DROVER_TEST_VSIX names.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { ensureDemoDatabase } from '../../daemon/demo/demoDatabase';
import { startMockLlm, type MockLlmServer } from '../../daemon/mockLlm/server';
import { type CodeServer, startCodeServer } from '../support/codeServer';
import { openWorkbench, type Workbench, tearDownWorkbench } from '../support/workbench';

const repoRoot = resolve(__dirname, '..', '..');
const run = promisify(execFile);

/** The `vsce package …` part of package.json's "package" script, writing to `out`. */
function vscePackageArgs(out: string): string[] {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const command = manifest.scripts.package?.split('&&').map((part) => part.trim()).find((part) => part.startsWith('vsce package'));
  assert.ok(command, 'the "package" script should run vsce package');
  const args = command.split(/\s+/).slice(1);
  const outAt = args.indexOf('--out');
  assert.ok(outAt >= 0, 'the "package" script should name its --out file');
  args[outAt + 1] = out;
  return args;
}

describe('the packaged VSIX in code-server', () => {
  let scratch: string;
  let home: string;
  let vsix: string;
  let mock: MockLlmServer;
  let server: CodeServer;
  let workbench: Workbench;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'drover-e2e-vsix-'));
    const workspace = join(scratch, 'workspace');
    home = join(scratch, 'drover-home');
    await mkdir(workspace);
    // DROVER_TEST_VSIX checks a VSIX built already (`npm run package` makes dist/drover.vsix).
    vsix = process.env.DROVER_TEST_VSIX ?? join(scratch, 'drover.vsix');
    if (!process.env.DROVER_TEST_VSIX) await run(join(repoRoot, 'node_modules', '.bin', 'vsce'), vscePackageArgs(vsix), { cwd: repoRoot, timeout: 120_000 });
    ensureDemoDatabase(join(workspace, 'feedback.db'), 100);
    mock = await startMockLlm({ latencyMs: 5 });
    await writeFile(
      join(workspace, 'installed.drover.json'),
      JSON.stringify({ name: 'installed-check', source: { type: 'sqlite', path: 'feedback.db', table: 'feedback', key: 'id' }, prompt: { template: '{{text}}' }, provider: { baseUrl: mock.url } }, null, 2),
    );
    server = await startCodeServer({ workspace, installExtensions: [vsix], env: { DROVER_HOME: home } });
    workbench = await openWorkbench(server.url);
  });

  after(() => tearDownWorkbench({ workbench, home, server, mock, scratch }));

  it('runs a job file with the daemon from the installed extension', async () => {
    await workbench.openFile('installed.drover.json');
    await workbench.runCommand('Drover: Run Job File');
    await workbench.openActivity('Drover');
    await workbench.sideBarRow('installed-check').filter({ hasText: '100 / 100' }).locator('.custom-view-tree-node-item-icon.codicon-pass').waitFor({ timeout: 60_000 });

    const { pid } = JSON.parse(readFileSync(join(home, 'daemon.json'), 'utf8')) as { pid: number };
    const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const installed = join(server.extensionsDir, 'drover.drover-0.1.0');
    assert.ok(commandLine.includes(join(installed, 'dist', 'daemon.js')), `the daemon should run from the VSIX: ${commandLine.join(' ')}`);
    assert.ok(!commandLine.some((part) => part.startsWith(repoRoot)), 'nothing should come from the repository');
    await workbench.screenshot('vsix-installed-job-done');
  });
});
