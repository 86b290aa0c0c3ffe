// Where the cost bar puts what was spent, the projection, the estimate and the budget: one
// scale for all four, with room past the largest so its marker is not on the edge.
import type { JobEstimate } from '../../daemon/protocol/estimate';

export interface CostFigures {
  spentUsd: number;
  projectedUsd: number | null;
  estimateUsd: number | null;
  budgetUsd: number | null;
}

export interface CostBarLayout {
  scaleUsd: number;
  spentPercent: number;
  projectedPercent: number | null;
  estimatePercent: number | null;
  budgetPercent: number | null;
  overBudget: boolean;
  overEstimate: boolean;
}

const headroom = 1.1;

export function costBarLayout(figures: CostFigures): CostBarLayout {
  const known = [figures.spentUsd, figures.projectedUsd, figures.estimateUsd, figures.budgetUsd].filter(
    (value): value is number => value !== null && Number.isFinite(value) && value > 0,
  );
  const scaleUsd = known.length === 0 ? 1 : Math.max(...known) * headroom;
  const percentOf = (usd: number | null) => (usd === null ? null : (Math.max(0, usd) / scaleUsd) * 100);
  return {
    scaleUsd,
    spentPercent: percentOf(figures.spentUsd) ?? 0,
    projectedPercent: percentOf(figures.projectedUsd),
    estimatePercent: percentOf(figures.estimateUsd),
    budgetPercent: percentOf(figures.budgetUsd),
    overBudget: figures.budgetUsd !== null && (figures.projectedUsd ?? figures.spentUsd) > figures.budgetUsd,
    overEstimate: figures.estimateUsd !== null && (figures.projectedUsd ?? figures.spentUsd) > figures.estimateUsd,
  };
}

/** The estimate's cost for the model the job runs; null without an estimate or a price. */
export function estimatedCostUsd(estimate: JobEstimate | null): number | null {
  return estimate?.models.find((model) => model.chosen)?.costUsd ?? null;
}
