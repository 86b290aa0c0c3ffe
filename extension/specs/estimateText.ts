// An estimate in words, for notifications, quick picks and the confirmation step. Pure.
import type { JobEstimate, ModelCost } from '../../daemon/protocol/estimate';
import { formatCompact, formatCount, formatDuration, formatUsd } from '../../webview/shared/format';

export function chosenModel(estimate: JobEstimate): ModelCost | undefined {
  return estimate.models.find((model) => model.chosen);
}

/** `~1h 05m (by tpm)`, or what the estimate says when no limits bound it. */
export function durationText(estimate: JobEstimate): string {
  if (estimate.duration.seconds === null) return 'duration depends on the provider (no rpm/tpm limits)';
  const bound = estimate.duration.limitedBy === 'none' ? '' : ` at the ${estimate.duration.limitedBy} limit`;
  return `about ${formatDuration(estimate.duration.seconds)}${bound}`;
}

export function modelCostText(model: ModelCost): string {
  return model.costUsd === null ? 'price unknown' : formatUsd(model.costUsd);
}

/** `20,000 records · 1,000 requests · 2.4M tokens · $0.84 with gpt-4.1-mini · about 8m 20s` */
export function estimateSummary(estimate: JobEstimate): string {
  const chosen = chosenModel(estimate);
  const records = `${estimate.records.totalExact ? '' : '~'}${formatCount(estimate.records.total)} records`;
  const tokens = `${formatCompact(estimate.tokens.prompt + estimate.tokens.output)} tokens`;
  const cost = chosen ? `${modelCostText(chosen)} with ${chosen.model}` : 'cost unknown';
  return [records, `${formatCount(estimate.requests)} requests`, tokens, cost, durationText(estimate)].join(' · ');
}

/** What the estimate could not count, or null when it read every record cleanly. */
export function estimateCaveats(estimate: JobEstimate): string | null {
  const { records } = estimate;
  const notes: string[] = [];
  if (records.basis !== 'all') notes.push(`from a ${records.basis === 'random' ? 'random sample' : 'first part'} of ${formatCount(records.scanned)} records`);
  if (records.malformed > 0) notes.push(`${formatCount(records.malformed)} malformed records`);
  if (records.templateErrors > 0) notes.push(`${formatCount(records.templateErrors)} records the template cannot render`);
  if (records.oversize > 0) notes.push(`${formatCount(records.oversize)} records too large for one request`);
  if (!estimate.tokenizer.exact) notes.push(`tokens approximated (${estimate.tokenizer.name})`);
  return notes.length > 0 ? notes.join('; ') : null;
}
