// Runs inside VS Code's extension host (see index.ts): the real API, the real extension.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';

const extensionId = 'drover.drover';

// Read while mocha loads the suite files, before any test can have run a Drover command.
const activeBeforeAnyTest = vscode.extensions.getExtension(extensionId)?.isActive;

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('Drover extension', () => {
  it('is installed and stays inactive until a Drover command is used', () => {
    assert.ok(vscode.extensions.getExtension(extensionId), `${extensionId} is not installed in this window`);
    assert.equal(activeBeforeAnyTest, false);
  });

  it('registers drover.showLogs, which activates the extension', async () => {
    await vscode.commands.executeCommand('drover.showLogs');
    assert.equal(vscode.extensions.getExtension(extensionId)?.isActive, true);
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('drover.showLogs'), 'drover.showLogs is not among the registered commands');
  });

  it('shows the "Drover" log channel with the activation line in it', async () => {
    await vscode.commands.executeCommand('drover.showLogs');
    const channel = await waitFor('the Drover output channel to open', () =>
      vscode.workspace.textDocuments.find(
        (document) => document.uri.scheme === 'output' && document.uri.path.includes('Drover'),
      ),
    );
    await waitFor('the activation line in the Drover channel', () =>
      channel.getText().includes('Drover activated') ? true : undefined,
    );
  });
});
