// Turns what the source yields into what the engine does with it: skip it (finished in an
// earlier run), finish it at once (malformed, a template problem, too large, out of
// attempts, or answered before — the content cache), or send it.
import { createHash } from 'node:crypto';
import type { RecordUpdate } from '../ledger/ledger';
import type { PreparerLedger } from '../ledger/ledgerViews';
import type { ResumeCursor, SourceItem } from '../sources/source';
import type { compileTemplate } from '../sources/template';
import type { Tokenizer } from '../tokens/tokenizer';
import { wireItem, type WireItem } from './requestBuilder';

export interface PendingRecord {
  /** Position in this run's read order (for the watermark). */
  sequence: number;
  key: string;
  ordinal: number;
  cursor: ResumeCursor;
  inputHash: string;
  wire: WireItem;
  /** Attempts already made, in this run and earlier ones. */
  attempts: number;
  /** Multiplies the answer's token allowance after a truncated answer. */
  outputBoost: number;
}

export type Preparation =
  | { kind: 'skip'; status: 'done' | 'failed' }
  | { kind: 'finish'; update: RecordUpdate; message: string | null }
  | { kind: 'send'; record: Omit<PendingRecord, 'sequence'>; reopened: 'done' | 'failed' | null };

export interface PreparerOptions {
  ledger: PreparerLedger;
  template: ReturnType<typeof compileTemplate>;
  tokenizer: Tokenizer;
  configHash: string;
  maxPromptTokens: number;
  overheadTokens: number;
  oversize: 'fail' | 'truncate';
  maxAttempts: number;
  useCache: boolean;
  retryFailed: boolean;
}

export function inputHash(configHash: string, input: string): string {
  return createHash('sha1').update(configHash).update('\0').update(input).digest('base64url');
}

export class RecordPreparer {
  constructor(private readonly options: PreparerOptions) {}

  prepare(item: SourceItem): Preparation {
    const { ledger } = this.options;
    const known = ledger.lookup(item.key);
    if (item.kind === 'malformed') {
      if (known && known.status !== 'pending') return { kind: 'skip', status: known.status };
      return this.finishFailed(item.key, item.ordinal, 'malformed', item.reason, null);
    }

    const label = `record ${item.key}${item.line === undefined ? '' : ` (line ${item.line})`}`;
    let input: string;
    try {
      input = this.options.template.render(item.fields, label);
    } catch (error) {
      return this.finishFailed(item.key, item.ordinal, 'template', error instanceof Error ? error.message : String(error), null);
    }
    const hash = inputHash(this.options.configHash, input);
    if (known && known.inputHash === hash) {
      if (known.status === 'done' || (known.status === 'failed' && !this.options.retryFailed)) {
        return { kind: 'skip', status: known.status };
      }
    }
    const attempts = known && known.inputHash === hash && known.status === 'pending' ? known.attempts : 0;
    if (attempts >= this.options.maxAttempts) {
      return this.finishFailed(item.key, item.ordinal, 'attempts_exhausted', `no valid answer after ${attempts} attempts (retry.maxAttempts)`, hash);
    }
    if (this.options.useCache) {
      const cached = ledger.cached(hash);
      if (cached) {
        return {
          kind: 'finish',
          update: { key: item.key, ordinal: item.ordinal, status: 'done', inputHash: hash, output: cached.output, model: cached.model, cached: true },
          message: null,
        };
      }
    }

    let wire = wireItem(item.key, input, this.options.tokenizer);
    const room = this.options.maxPromptTokens - this.options.overheadTokens;
    if (wire.tokens > room) {
      const what = `${label} needs ${wire.tokens} prompt tokens, more than batching.maxPromptTokens (${this.options.maxPromptTokens}) allows`;
      if (this.options.oversize === 'fail') {
        return this.finishFailed(item.key, item.ordinal, 'oversize', `${what}; raise the limit or set batching.oversize to "truncate"`, hash);
      }
      const frame = wireItem(item.key, '', this.options.tokenizer).tokens;
      // JSON escaping can add tokens after truncation, so shrink until the item fits.
      let budget = room - frame - 16;
      for (let tries = 0; tries < 4 && budget > 0 && wire.tokens > room; tries += 1) {
        wire = wireItem(item.key, this.options.tokenizer.truncate(input, budget), this.options.tokenizer);
        budget -= wire.tokens - room + 16;
      }
      if (wire.tokens > room) {
        return this.finishFailed(item.key, item.ordinal, 'oversize', `${what}, even with its input truncated`, hash);
      }
    }
    return {
      kind: 'send',
      record: { key: item.key, ordinal: item.ordinal, cursor: item.cursor, inputHash: hash, wire, attempts, outputBoost: 1 },
      reopened: known && known.status !== 'pending' ? known.status : null,
    };
  }

  private finishFailed(key: string, ordinal: number, errorClass: string, message: string, hash: string | null): Preparation {
    return { kind: 'finish', update: { key, ordinal, status: 'failed', inputHash: hash, errorClass, error: message }, message };
  }
}
