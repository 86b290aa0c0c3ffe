// "Set API Key" and "Clear API Key": one key per provider base URL, in SecretStorage.
// Both take an optional { baseUrl, apiKey } (or just the base URL) so other commands, and
// automation, can skip the questions they already know the answers to.
import * as vscode from 'vscode';
import { normalizeBaseUrl, type ApiKeyStore } from '../secrets/apiKeyStore';
import type { DroverSettings } from '../settings/droverSettings';

interface KeyArguments {
  baseUrl?: string;
  apiKey?: string;
}

function argumentsOf(argument: unknown): KeyArguments {
  if (typeof argument === 'string') return { baseUrl: argument };
  if (typeof argument !== 'object' || argument === null) return {};
  const { baseUrl, apiKey } = argument as Record<string, unknown>;
  return { baseUrl: typeof baseUrl === 'string' ? baseUrl : undefined, apiKey: typeof apiKey === 'string' ? apiKey : undefined };
}

function validBaseUrl(value: string): string | undefined {
  try {
    const url = new URL(value.trim());
    return url.protocol === 'http:' || url.protocol === 'https:' ? undefined : 'The base URL must start with http:// or https://';
  } catch {
    return 'Enter a URL such as https://api.openai.com/v1';
  }
}

async function chooseBaseUrl(keys: ApiKeyStore, settings: DroverSettings, title: string): Promise<string | undefined> {
  const configured = normalizeBaseUrl(settings.providerBaseUrl);
  const known = [configured, ...keys.baseUrls().filter((baseUrl) => baseUrl !== configured)];
  const other = { label: '$(edit) Another provider…', baseUrl: undefined };
  const picked = await vscode.window.showQuickPick(
    [
      ...known.map((baseUrl) => ({
        label: baseUrl,
        description: [baseUrl === configured ? 'drover.provider.baseUrl' : '', keys.baseUrls().includes(baseUrl) ? 'has a key' : ''].filter(Boolean).join(' · '),
        baseUrl,
      })),
      other,
    ],
    { title, placeHolder: 'The provider (OpenAI-compatible base URL) the key is for' },
  );
  if (!picked) return undefined;
  if (picked.baseUrl) return picked.baseUrl;
  return vscode.window.showInputBox({ title, prompt: 'OpenAI-compatible base URL', placeHolder: 'https://api.example.com/v1', validateInput: validBaseUrl, ignoreFocusOut: true });
}

export function registerApiKeyCommands(keys: ApiKeyStore, settings: () => DroverSettings, logs: vscode.LogOutputChannel): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('drover.setApiKey', async (argument: unknown) => {
      const given = argumentsOf(argument);
      const title = 'Drover: Set API Key';
      const baseUrl = given.baseUrl ?? (await chooseBaseUrl(keys, settings(), title));
      if (!baseUrl) return false;
      const problem = validBaseUrl(baseUrl);
      if (problem) {
        void vscode.window.showErrorMessage(`${title}: ${problem} (got "${baseUrl}")`);
        return false;
      }
      const apiKey =
        given.apiKey ??
        (await vscode.window.showInputBox({
          title,
          prompt: `API key for ${normalizeBaseUrl(baseUrl)} (kept in VS Code's secret storage, never in settings or files)`,
          password: true,
          ignoreFocusOut: true,
          validateInput: (value) => (value.trim() === '' ? 'The key is empty' : /\s/.test(value.trim()) ? 'A key has no spaces in it' : undefined),
        }));
      if (!apiKey) return false;
      await keys.set(baseUrl, apiKey.trim());
      logs.info(`stored an API key for ${normalizeBaseUrl(baseUrl)} in secret storage`);
      void vscode.window.showInformationMessage(`Drover: the API key for ${normalizeBaseUrl(baseUrl)} is stored.`);
      return true;
    }),
    vscode.commands.registerCommand('drover.clearApiKey', async (argument: unknown) => {
      const title = 'Drover: Clear API Key';
      let baseUrl = argumentsOf(argument).baseUrl;
      if (!baseUrl) {
        const stored = keys.baseUrls();
        if (stored.length === 0) {
          void vscode.window.showInformationMessage(`${title}: no API key is stored.`);
          return false;
        }
        baseUrl = await vscode.window.showQuickPick(stored, { title, placeHolder: 'Remove the key for' });
      }
      if (!baseUrl) return false;
      await keys.delete(baseUrl);
      logs.info(`removed the API key for ${normalizeBaseUrl(baseUrl)}`);
      void vscode.window.showInformationMessage(`Drover: the API key for ${normalizeBaseUrl(baseUrl)} is removed.`);
      return true;
    }),
  ];
}
