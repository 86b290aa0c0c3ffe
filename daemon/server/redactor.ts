// Keeps API keys out of everything the daemon writes or says: every key it holds (handed
// over by a client or read from the environment for a job) and anything shaped like a
// credential, in log lines, error messages and status reasons.
const bearerPattern = /\bBearer\s+[^\s"',;]+/gi;
const openAiKeyPattern = /\bsk-[A-Za-z0-9_-]{6,}/g;
/** Keys shorter than this are not matched verbatim: too likely to hit ordinary text. */
const minimumSecretLength = 6;

export class Redactor {
  private readonly secrets = new Set<string>();
  private pattern: RegExp | null = null;

  hold(secret: string | undefined): void {
    if (!secret || secret.length < minimumSecretLength || this.secrets.has(secret)) return;
    this.secrets.add(secret);
    // Longest first, so a key that contains another is replaced whole.
    const alternatives = [...this.secrets].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.pattern = new RegExp(alternatives.join('|'), 'g');
  }

  redact(text: string): string {
    const held = this.pattern ? text.replace(this.pattern, '[redacted]') : text;
    return held.replace(bearerPattern, 'Bearer [redacted]').replace(openAiKeyPattern, 'sk-[redacted]');
  }

  /** Redacts every string inside a JSON-like value. */
  redactDeep<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((item: unknown) => this.redactDeep(item)) as T;
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.redactDeep(item)])) as T;
    }
    return value;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
