// Composition root: builds the extension's parts and registers what VS Code calls.
import * as vscode from 'vscode';

export function activate(context: vscode.ExtensionContext): void {
  // One channel for the whole extension: the daemon's logs will be forwarded into it, so
  // "Show Logs" is the first place a user looks when something goes wrong.
  const logs = vscode.window.createOutputChannel('Drover', { log: true });
  context.subscriptions.push(logs);
  logs.info('Drover activated');

  context.subscriptions.push(vscode.commands.registerCommand('drover.showLogs', () => logs.show()));
}

export function deactivate(): void {}
