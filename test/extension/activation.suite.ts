// Runs inside VS Code's extension host (see index.ts): the real API, the real extension.
// This file sorts first, so it sees the window before any other suite used Drover.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { droverApi, droverHome, extensionId, waitFor } from './suiteSupport';

// Read while mocha loads the suite files, before any test can have run a Drover command.
const activeBeforeAnyTest = vscode.extensions.getExtension(extensionId)?.isActive;

const contributedCommands = [
  'drover.runAnalysis',
  'drover.runJobFile',
  'drover.estimateCost',
  'drover.previewRecords',
  'drover.pauseJob',
  'drover.resumeJob',
  'drover.cancelJob',
  'drover.openDashboard',
  'drover.exportResults',
  'drover.deleteJob',
  'drover.setApiKey',
  'drover.clearApiKey',
  'drover.showLogs',
  'drover.refreshJobs',
  'drover.restartDaemon',
];

describe('Drover extension', () => {
  it('is installed and stays inactive until a Drover command is used', () => {
    assert.ok(vscode.extensions.getExtension(extensionId), `${extensionId} is not installed in this window`);
    assert.equal(activeBeforeAnyTest, false);
  });

  it('registers every contributed command once activated by drover.showLogs', async () => {
    await vscode.commands.executeCommand('drover.showLogs');
    assert.equal(vscode.extensions.getExtension(extensionId)?.isActive, true);
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(
      contributedCommands.filter((command) => !registered.has(command)),
      [],
    );
    const manifest = vscode.extensions.getExtension(extensionId)?.packageJSON as { contributes: { commands: { command: string }[] } };
    assert.deepEqual(manifest.contributes.commands.map((entry) => entry.command).sort(), [...contributedCommands].sort());
  });

  it('does not start or reach a daemon on activation', async () => {
    const api = await droverApi();
    assert.equal(api.connection.state, 'stopped');
    assert.equal(api.stateDir(), droverHome());
    assert.equal(existsSync(join(droverHome(), 'daemon.json')), false, 'activation must not start a daemon');
  });

  it('shows the "Drover" log channel with the activation line in it', async () => {
    await vscode.commands.executeCommand('drover.showLogs');
    const channel = await waitFor('the Drover output channel to open', () =>
      vscode.workspace.textDocuments.find((document) => document.uri.scheme === 'output' && document.uri.path.includes('Drover')),
    );
    await waitFor('the activation line in the Drover channel', () => /Drover activated \(version \d+\.\d+\.\d+\)/.test(channel.getText()));
  });
});
