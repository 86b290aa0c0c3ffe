// The extension as a user meets it: code-server's workbench in Chromium, driven through
// the command palette. Needs the build (dist/) and scripts/install-code-server.sh.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CodeServer, startCodeServer } from '../support/codeServer';
import { openWorkbench, type Workbench } from '../support/workbench';

const repoRoot = resolve(__dirname, '..', '..');
// Given to code-server, looked for in the extension host's environment.
const markerName = 'DROVER_E2E_MARKER';
const markerValue = `${process.pid}-${Date.now()}`;

// Unique on this machine, to find the sleep by; short, so that even a failed run leaves
// nothing behind for long.
const orphanSeconds = `300.${process.pid}`;
const orphanScript = 'start-orphan.sh';

function procFile(pid: number, file: 'cmdline' | 'environ' | 'stat'): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return ''; // it ended meanwhile
  }
}

const commandLine = (pid: number) => procFile(pid, 'cmdline').split('\0').join(' ').trim();
const environment = (pid: number) => procFile(pid, 'environ').split('\0');

function status(pid: number): { state: string; parent: number; group: number } {
  const stat = procFile(pid, 'stat');
  // The command name in parentheses may hold spaces; state, parent and group follow it.
  const [state = '', parent, group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state, parent: Number(parent), group: Number(group) };
}

// A zombie has ended; only its parent has yet to collect it.
const running = (pid: number) => !['', 'Z'].includes(status(pid).state);

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let value = probe(); ; value = probe()) {
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('Drover in the code-server workbench', () => {
  let scratch: string;
  let server: CodeServer;
  let workbench: Workbench;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'drover-e2e-workbench-'));
    const workspace = join(scratch, 'workspace');
    await mkdir(workspace);
    await writeFile(join(workspace, 'notes.md'), '# Reviews to analyse\n\nRun Drover over last year.\n');
    await writeFile(join(workspace, orphanScript), `#!/bin/sh\nsetsid sleep ${orphanSeconds} &\n`, { mode: 0o755 });
    server = await startCodeServer({
      workspace,
      extensionDevelopmentPath: repoRoot,
      env: { [markerName]: markerValue },
    });
    workbench = await openWorkbench(server.url);
  });

  after(async () => {
    await workbench?.close();
    await server?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  // waitForNotification() and webviewFrame() are checked on what VS Code itself shows,
  // until Drover has notifications and webviews of its own to drive them.
  it('waitForNotification() finds a notification toast by its text', async () => {
    // Emmet, built in, answers this command with an information message when no editor is
    // active, as in this fresh window (the Output view, once open, counts as an editor).
    await workbench.runCommand('Emmet: Reflect CSS Value');
    const toast = await workbench.waitForNotification('No editor is active.');
    assert.match((await toast.textContent()) ?? '', /No editor is active\./);
    await workbench.screenshot('notification');
    await workbench.runCommand('Notifications: Clear All Notifications');
    await toast.waitFor({ state: 'hidden' });
  });

  it('"Drover: Show Logs" from the palette opens the Drover channel in the Output panel', async () => {
    await workbench.runCommand('Drover: Show Logs');
    const output = workbench.page.locator('.part.panel .output-view');
    await output.waitFor({ state: 'visible' });
    // The channel picker in the panel's title bar shows which channel is on screen.
    const channelPicker = workbench.page.locator('.part.panel .title-actions select.monaco-select-box');
    assert.equal(await channelPicker.inputValue(), 'Drover');
    await output.locator('.view-lines', { hasText: 'Drover activated' }).waitFor();
    await workbench.screenshot('show-logs');
  });

  it('webviewFrame() reaches into the content of a webview (the Markdown preview)', async () => {
    // The Output view, once shown, is a text editor too, and would be what gets previewed.
    await workbench.runCommand('View: Hide Panel');
    await workbench.openFile('notes.md');
    await workbench.runCommand('Markdown: Open Preview');
    const heading = workbench.webviewFrame().locator('h1');
    await heading.waitFor();
    assert.equal(await heading.textContent(), 'Reviews to analyse');
    await workbench.screenshot('webview-markdown-preview');
  });

  it('the extension host gets the env given to code-server', () => {
    const extensionHosts = server.processes().filter((pid) => commandLine(pid).includes('--type=extensionHost'));
    assert.ok(extensionHosts.length > 0, 'the window should have an extension host');
    for (const pid of extensionHosts) assert.ok(environment(pid).includes(`${markerName}=${markerValue}`));
  });

  it('stop() ends the server, its extension host and a process that left for a session of its own', async () => {
    // The script's shell starts the sleep in a session of its own and exits, so the sleep is
    // orphaned: neither code-server's process group nor its descendants hold it any more, as
    // with a daemon that the extension starts detached and that outlives its window.
    await workbench.openFile(orphanScript);
    await workbench.runCommand('Terminal: Run Active File In Active Terminal');
    const orphan = await waitFor('the setsid sleep to start', () =>
      server.processes().find((pid) => commandLine(pid) === `sleep ${orphanSeconds}`),
    );
    const everything = server.processes();
    assert.notEqual(status(orphan).group, server.pid);
    assert.ok(!everything.includes(status(orphan).parent), 'the sleep should have been orphaned');
    assert.ok(everything.some((pid) => commandLine(pid).includes('--type=extensionHost')));

    await server.stop();
    assert.deepEqual(everything.filter(running), []);
  });
});
