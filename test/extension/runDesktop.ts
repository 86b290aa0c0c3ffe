// `npm run test:desktop`: the extension-host suite in a desktop VS Code, through
// @vscode/test-electron. It downloads VS Code 1.100.3 (the version code-server 4.100.3 is
// built on), so it works only on a machine with network access to VS Code's update site —
// not on the project's machines or CI, where test/e2e runs the same suite in code-server.
// Not part of `npm test`. Without the report variable the suite prints mocha's spec output.
import { runTests } from '@vscode/test-electron';
import { stopDaemon } from '../support/codeServer';
import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repoRoot = resolve(__dirname, '..', '..');

async function main(): Promise<number> {
  const workspace = await mkdtemp(join(tmpdir(), 'drover-desktop-'));
  // The suite runs jobs: its daemon gets a state directory of its own, stopped at the end.
  const home = await mkdtemp(join(tmpdir(), 'drover-desktop-home-'));
  try {
    return await runTests({
      version: '1.100.3',
      // Beside code-server's install, not in the repo.
      cachePath: join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'drover', 'vscode-test'),
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: join(repoRoot, 'dist', 'test', 'extension', 'index.js'),
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
      extensionTestsEnv: { DROVER_HOME: home },
    });
  } finally {
    await stopDaemon(home);
    await rm(workspace, { recursive: true, force: true });
    await rm(home, { recursive: true, force: true });
  }
}

main().then(
  (exitCode) => {
    process.exitCode = exitCode;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
