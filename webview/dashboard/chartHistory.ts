// The throughput chart's samples: appended from progress updates, merged with what the
// extension and an earlier instance of the webview kept, and bounded in length by thinning
// old samples (pairs averaged) so a day-long job still draws its whole curve cheaply.
import type { JobProgress } from '../../daemon/protocol/jobProgress';
import type { ChartPoint } from '../protocol/dashboardMessages';

export const maxChartPoints = 1000;

export function pointFrom(progress: JobProgress): ChartPoint {
  return {
    elapsedSec: progress.elapsedSec,
    recordsPerSec: progress.rates.recordsPerSec,
    tokensPerSec: progress.rates.tokensPerSec,
  };
}

/** Adds a sample in time order: a later one is appended, one at the same time replaces, an older one is stale. */
export function appendPoint(history: readonly ChartPoint[], point: ChartPoint, max = maxChartPoints): ChartPoint[] {
  const last = history.at(-1);
  if (last !== undefined && point.elapsedSec < last.elapsedSec) return [...history];
  const kept = last !== undefined && point.elapsedSec === last.elapsedSec ? history.slice(0, -1) : [...history];
  kept.push(point);
  return kept.length > max ? thinHistory(kept, max) : kept;
}

/** Both histories in time order; where both have a sample at the same time, `newer`'s wins. */
export function mergeHistories(older: readonly ChartPoint[], newer: readonly ChartPoint[], max = maxChartPoints): ChartPoint[] {
  const byTime = new Map<number, ChartPoint>();
  for (const point of older) byTime.set(point.elapsedSec, point);
  for (const point of newer) byTime.set(point.elapsedSec, point);
  const merged = [...byTime.values()].sort((a, b) => a.elapsedSec - b.elapsedSec);
  return merged.length > max ? thinHistory(merged, max) : merged;
}

/**
 * Halves the older samples (each pair becomes one at the earlier time, so the chart still
 * starts where the job did, with the mean rates) until the history fits; the newest half
 * keeps its full resolution.
 */
export function thinHistory(history: readonly ChartPoint[], max: number): ChartPoint[] {
  if (max < 2) throw new Error(`a chart needs room for at least 2 samples, not ${max}`);
  let points = [...history];
  while (points.length > max) {
    // At least one pair, or a history of three would never shrink.
    const olderCount = Math.max(2, Math.floor(points.length / 2));
    const thinned: ChartPoint[] = [];
    for (let index = 0; index + 1 < olderCount; index += 2) thinned.push(meanOf(points[index], points[index + 1]));
    if (olderCount % 2 === 1) thinned.push(points[olderCount - 1]);
    points = [...thinned, ...points.slice(olderCount)];
  }
  return points;
}

/** uPlot's column layout: times, then one array per series. */
export function chartColumns(history: readonly ChartPoint[]): [number[], number[], number[]] {
  return [
    history.map((point) => point.elapsedSec),
    history.map((point) => point.recordsPerSec),
    history.map((point) => point.tokensPerSec),
  ];
}

function meanOf(first: ChartPoint, second: ChartPoint): ChartPoint {
  return {
    elapsedSec: first.elapsedSec,
    recordsPerSec: (first.recordsPerSec + second.recordsPerSec) / 2,
    tokensPerSec: (first.tokensPerSec + second.tokensPerSec) / 2,
  };
}
