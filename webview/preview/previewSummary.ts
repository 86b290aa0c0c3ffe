// Pure sums and selections over the previewed records: which field columns to show, which
// records can run, and what the shown records add up to.
import type { PreviewRecord } from '../../daemon/protocol/estimate';
import type { PreviewContent } from '../protocol/previewMessages';
import { formatCount, formatUsd } from '../shared/format';

export const maxFieldColumns = 8;

/** The fields the records have, in the order they first appear, at most `max` of them. */
export function fieldColumns(records: readonly PreviewRecord[], max = maxFieldColumns): string[] {
  const names = new Set<string>();
  for (const record of records) for (const name of Object.keys(record.fields)) names.add(name);
  return [...names].slice(0, max);
}

/** Keys of the records that rendered (a record with an error cannot run), each once. */
export function runnableKeys(records: readonly PreviewRecord[]): string[] {
  return [...new Set(records.filter((record) => record.input !== null).map((record) => record.key))];
}

export interface ShownTotals {
  records: number;
  runnable: number;
  inputTokens: number;
  /** Null when no shown record has a price (the model has none). */
  estimatedCostUsd: number | null;
}

export function shownTotals(records: readonly PreviewRecord[]): ShownTotals {
  const priced = records.filter((record) => record.estimatedCostUsd !== null);
  return {
    records: records.length,
    runnable: runnableKeys(records).length,
    inputTokens: records.reduce((sum, record) => sum + record.inputTokens, 0),
    estimatedCostUsd: priced.length === 0 ? null : priced.reduce((sum, record) => sum + (record.estimatedCostUsd ?? 0), 0),
  };
}

/** What the whole selection or file comes to, where the extension knows; null when it knows nothing more. */
export function wholeSelectionText(totals: PreviewContent['totals'], shown: number): string | null {
  const parts: string[] = [];
  if (totals.records !== null) parts.push(`${formatCount(totals.records)} records`);
  if (totals.inputTokens !== null) parts.push(`~${formatCount(totals.inputTokens)} input tokens`);
  if (totals.estimatedCostUsd !== null) parts.push(`~${formatUsd(totals.estimatedCostUsd)}`);
  if (parts.length === 0 || (totals.records === shown && totals.inputTokens === null && totals.estimatedCostUsd === null)) return null;
  return `Whole selection: ${parts.join(' · ')}`;
}

/** `4 of 5 records can run (1 has an error)`. */
export function runnableText(totals: ShownTotals): string {
  const blocked = totals.records - totals.runnable;
  if (totals.records === 0) return 'No records to run.';
  if (blocked === 0) return `${formatCount(totals.runnable)} records can run.`;
  return `${formatCount(totals.runnable)} of ${formatCount(totals.records)} records can run (${formatCount(blocked)} ${blocked === 1 ? 'has an error' : 'have errors'}).`;
}
