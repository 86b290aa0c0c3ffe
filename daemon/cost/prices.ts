// List prices in USD per million tokens (standard tier, uncached input, no batch discount).
// Each entry names where it was checked and when; override any of them in the spec
// (`prices`) or in the extension's settings when your contract differs.
import type { Price } from '../spec/jobSpec';

export interface PriceEntry extends Price {
  source: string;
  checked: string;
}

const openai = 'openai.com/api/pricing';
const anthropic = 'docs.anthropic.com/en/docs/about-claude/pricing';
const claudeModel = (page: string) => `platform.claude.com/docs/en/models/${page}/overview`;
const google = 'ai.google.dev/gemini-api/docs/pricing';
const deepseek = 'api-docs.deepseek.com/quick_start/pricing';

export const priceTable: Readonly<Record<string, PriceEntry>> = {
  'gpt-5': { inputPerMTok: 1.25, outputPerMTok: 10, source: openai, checked: '2026-11-28' },
  'gpt-5-mini': { inputPerMTok: 0.25, outputPerMTok: 2, source: openai, checked: '2026-11-28' },
  'gpt-5-nano': { inputPerMTok: 0.05, outputPerMTok: 0.4, source: openai, checked: '2026-11-28' },
  'gpt-4.1': { inputPerMTok: 2, outputPerMTok: 8, source: openai, checked: '2026-11-28' },
  'gpt-4.1-mini': { inputPerMTok: 0.4, outputPerMTok: 1.6, source: openai, checked: '2026-11-28' },
  'gpt-4.1-nano': { inputPerMTok: 0.1, outputPerMTok: 0.4, source: openai, checked: '2026-11-28' },
  'gpt-4o': { inputPerMTok: 2.5, outputPerMTok: 10, source: openai, checked: '2026-11-28' },
  'gpt-4o-mini': { inputPerMTok: 0.15, outputPerMTok: 0.6, source: openai, checked: '2026-11-28' },
  'o4-mini': { inputPerMTok: 1.1, outputPerMTok: 4.4, source: openai, checked: '2026-11-28' },
  'claude-sonnet-4.5': { inputPerMTok: 3, outputPerMTok: 15, source: anthropic, checked: '2026-11-28' },
  'claude-haiku-4.5': { inputPerMTok: 1, outputPerMTok: 5, source: anthropic, checked: '2026-11-28' },
  'claude-opus-4.5': { inputPerMTok: 5, outputPerMTok: 25, source: claudeModel('opus-4-5'), checked: '2026-12-03' },
  'claude-opus-5': { inputPerMTok: 5, outputPerMTok: 25, source: claudeModel('opus-5'), checked: '2026-12-03' },
  'claude-opus-5.5': { inputPerMTok: 4, outputPerMTok: 20, source: claudeModel('opus-5-5'), checked: '2026-12-03' },
  'claude-sonnet-5': { inputPerMTok: 2, outputPerMTok: 10, source: claudeModel('sonnet-5'), checked: '2026-12-03' },
  // The article Drover grew from lists $0.125 input; Google's page lists $0.30 since GA.
  'gemini-2.5-flash': { inputPerMTok: 0.3, outputPerMTok: 2.5, source: google, checked: '2026-11-28' },
  'gemini-2.5-flash-lite': { inputPerMTok: 0.1, outputPerMTok: 0.4, source: google, checked: '2026-11-28' },
  // Cache-miss input; the article's $0.07 is below DeepSeek's published cache-miss price.
  'deepseek-v3.2': { inputPerMTok: 0.28, outputPerMTok: 0.42, source: deepseek, checked: '2026-11-28' },
  // The mock analyst model costs nothing, but the demo prices its runs like gpt-4.1-mini.
  'mock-analyst': { inputPerMTok: 0.4, outputPerMTok: 1.6, source: 'Drover mock (priced as gpt-4.1-mini)', checked: '2026-11-28' },
};

/** Provider spellings differ (`anthropic/claude-sonnet-4-5`, `claude-sonnet-4-5-20250929`). */
function canonicalModel(model: string): string {
  return model
    .toLowerCase()
    .replace(/^.*\//, '')
    .replace(/-(\d{8}|\d{4}-\d{2}-\d{2}|latest)$/, '')
    .replace(/(\d)-(\d)(?=$|-)/g, '$1.$2');
}

/** The price for a model: spec overrides first, then the table; undefined when unknown. */
export function priceFor(model: string, overrides: Readonly<Record<string, Price>> = {}): Price | undefined {
  const override = overrides[model] ?? overrides[canonicalModel(model)];
  if (override) return override;
  const entry = priceTable[canonicalModel(model)];
  return entry ? { inputPerMTok: entry.inputPerMTok, outputPerMTok: entry.outputPerMTok } : undefined;
}

/**
 * The batch APIs' price is a fixed share of the online one. OpenAI: "50% cost discount
 * compared to synchronous APIs" (platform.openai.com/docs/guides/batch, checked 2026-11-28);
 * Anthropic's Message Batches also bill 50% of the standard price
 * (docs.anthropic.com/en/docs/build-with-claude/batch-processing#pricing, checked 2026-12-03).
 * Spec and settings overrides are online prices: the discount applies to them too.
 */
export const batchDiscount = { factor: 0.5, source: 'platform.openai.com/docs/guides/batch', checked: '2026-11-28' } as const;

export function batchPrice(price: Price | undefined): Price | undefined {
  return price && { inputPerMTok: price.inputPerMTok * batchDiscount.factor, outputPerMTok: price.outputPerMTok * batchDiscount.factor };
}

/** The price a job pays: the online price, or the batch price in batch mode. */
export function priceForMode(model: string, overrides: Readonly<Record<string, Price>>, mode: 'online' | 'batch'): Price | undefined {
  const price = priceFor(model, overrides);
  return mode === 'batch' ? batchPrice(price) : price;
}

export function costUsd(price: Price | undefined, promptTokens: number, completionTokens: number): number {
  if (!price) return 0;
  return (promptTokens * price.inputPerMTok + completionTokens * price.outputPerMTok) / 1_000_000;
}
