// How numbers, money, durations and values read in the webviews: one place, so the
// dashboard, the preview and their tests agree.

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const dollars = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });

export const noValue = '—';

export function formatCount(count: number): string {
  return grouped.format(count);
}

/** 1,234 stays exact; beyond 10,000 it reads as 12.3K, for axes and tight labels. */
export function formatCompact(count: number): string {
  return Math.abs(count) < 10_000 ? grouped.format(count) : compact.format(count);
}

const upToTwoDecimals = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** A chart axis tick: fractions where the scale is small (0.25, 0.5), compact where it is large. */
export function formatAxisNumber(value: number): string {
  return Math.abs(value) < 10 ? upToTwoDecimals.format(value) : formatCompact(value);
}

/** Slow rates keep a decimal, so 0.4 records/s does not read as 0. */
export function formatRate(perSecond: number): string {
  return `${perSecond > 0 && perSecond < 10 ? oneDecimal.format(perSecond) : grouped.format(perSecond)}/s`;
}

/** Cents for ordinary amounts; two significant digits below a cent, so $0.0042 is not $0.00. */
export function formatUsd(usd: number | null): string {
  if (usd === null) return noValue;
  if (usd !== 0 && Math.abs(usd) < 0.01) return `$${Number(usd.toPrecision(2)).toString()}`;
  return dollars.format(usd);
}

/** `45s`, `3m 20s`, `2h 05m`, `3d 4h`: the two largest units, no more. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return noValue;
  const whole = Math.round(seconds);
  if (whole < 1) return '<1s';
  if (whole < 60) return `${whole}s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes}m ${pad(whole % 60)}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${pad(minutes % 60)}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** A chart axis tick: `0:45`, `12:05`, `1:02:03`. */
export function formatClock(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = `${pad(whole % 60)}`;
  return hours > 0 ? `${hours}:${pad(minutes)}:${rest}` : `${minutes}:${rest}`;
}

/**
 * One decimal, rounded down: 99.96 % of the records is not "100.0%" while some are left.
 * Returns null when there is no total to measure against.
 */
export function formatPercent(part: number, whole: number | null): string | null {
  if (whole === null || whole <= 0) return null;
  const tenths = Math.floor((Math.min(part, whole) / whole) * 1000);
  return `${(tenths / 10).toFixed(1)}%`;
}

/** A record's field or an answer's value as one line of text. */
export function valueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  if (typeof value === 'bigint') return value.toString();
  // Values come from JSON messages; stringify only returns undefined for functions and symbols.
  return JSON.stringify(value) ?? '';
}

export interface ShortText {
  text: string;
  truncated: boolean;
}

/** The first `max` characters on one line, with an ellipsis when cut (never half a pair). */
export function shortText(text: string, max: number): ShortText {
  const oneLine = text.replace(/\s+/g, ' ');
  if (oneLine.length <= max) return { text: oneLine, truncated: oneLine !== text };
  const cut = oneLine.slice(0, max - 1);
  return { text: `${/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut}…`, truncated: true };
}

/** An answer as `label: positive · score: 0.93`. */
export function outputText(output: Record<string, unknown>): string {
  return Object.entries(output)
    .map(([name, value]) => `${name}: ${valueText(value)}`)
    .join(' · ');
}

function pad(value: number): string {
  return value.toString().padStart(2, '0');
}
