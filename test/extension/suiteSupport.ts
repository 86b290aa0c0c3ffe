// What the extension-host suites share: the extension's API (activate()'s result), polling
// waits and the workspace folder. Bundled into each suite by esbuild; not a suite itself.
import * as vscode from 'vscode';
import type { DroverExtensionApi } from '../../extension/extension';

export const extensionId = 'drover.drover';

/** Activates the extension (as a command would) and returns its API. */
export async function droverApi(): Promise<DroverExtensionApi> {
  const extension = vscode.extensions.getExtension<DroverExtensionApi>(extensionId);
  if (!extension) throw new Error(`${extensionId} is not installed in this window`);
  return extension.isActive ? extension.exports : extension.activate();
}

export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the suite needs a window with a folder open');
  return folder.uri.fsPath;
}

/** The state directory the launcher gave the extension host (a fresh one per run). */
export function droverHome(): string {
  const home = process.env.DROVER_HOME;
  if (!home) throw new Error('DROVER_HOME is not set: the launcher must give each run its own state directory');
  return home;
}
