// API keys in VS Code's SecretStorage, one per provider base URL. They leave it only inside
// job.start / job.resume over the daemon's authenticated socket, where the daemon keeps
// them in memory: never in settings, a spec, the ledger or a log. Which base URLs have a
// key is not secret and is remembered apart, so "Clear API Key" can list them.
import type * as vscode from 'vscode';

const indexKey = 'drover.apiKeyBaseUrls';

/** One spelling per endpoint: `https://API.openai.com/v1/` and `https://api.openai.com/v1` are one key. */
export function normalizeBaseUrl(baseUrl: string): string {
  const url = new URL(baseUrl.trim());
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

export class ApiKeyStore {
  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly index: vscode.Memento,
  ) {}

  private secretName(baseUrl: string): string {
    return `drover.apiKey:${normalizeBaseUrl(baseUrl)}`;
  }

  get(baseUrl: string): Thenable<string | undefined> {
    return this.secrets.get(this.secretName(baseUrl));
  }

  async set(baseUrl: string, apiKey: string): Promise<void> {
    await this.secrets.store(this.secretName(baseUrl), apiKey);
    const known = new Set(this.baseUrls());
    known.add(normalizeBaseUrl(baseUrl));
    await this.index.update(indexKey, [...known].sort());
  }

  async delete(baseUrl: string): Promise<void> {
    await this.secrets.delete(this.secretName(baseUrl));
    const normalized = normalizeBaseUrl(baseUrl);
    await this.index.update(
      indexKey,
      this.baseUrls().filter((known) => known !== normalized),
    );
  }

  /** Base URLs that have a key (normalized). */
  baseUrls(): string[] {
    const stored = this.index.get<unknown>(indexKey);
    return Array.isArray(stored) ? stored.filter((entry): entry is string => typeof entry === 'string') : [];
  }

  /** The keys for these endpoints, by the base URL exactly as the spec spells it (the daemon matches it so). */
  async forEndpoints(baseUrls: readonly string[]): Promise<Record<string, string>> {
    const keys: Record<string, string> = {};
    for (const baseUrl of baseUrls) {
      let key: string | undefined;
      try {
        key = await this.get(baseUrl);
      } catch {
        continue; // not a URL: the daemon will name the spec's mistake
      }
      if (key) keys[baseUrl] = key;
    }
    return keys;
  }
}
