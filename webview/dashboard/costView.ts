// Cost so far against the estimate and the budget: one bar, markers for the estimate and
// the budget, the projection as a lighter extension of what was spent.
import type { JobEstimate } from '../../daemon/protocol/estimate';
import type { JobProgress } from '../../daemon/protocol/jobProgress';
import { element, setAttribute, setLeftPercent, setText, setWidthPercent, titledSection } from '../shared/dom';
import { formatUsd } from '../shared/format';
import { costBarLayout, type CostFigures, estimatedCostUsd } from './costBar';

type Figure = 'spent' | 'projected' | 'estimate' | 'budget';
const figureLabels: Record<Figure, string> = { spent: 'Spent', projected: 'Projected', estimate: 'Estimate', budget: 'Budget' };

export function costFigures(progress: JobProgress | null, estimate: JobEstimate | null, budgetUsd: number | null): CostFigures {
  return {
    spentUsd: progress?.costUsd ?? 0,
    projectedUsd: progress?.projectedCostUsd ?? null,
    estimateUsd: estimatedCostUsd(estimate),
    budgetUsd: progress?.budgetUsd ?? budgetUsd,
  };
}

export function costSummaryText(figures: CostFigures): string {
  const parts = [`${formatUsd(figures.spentUsd)} spent`];
  if (figures.projectedUsd !== null) parts.push(`projected ${formatUsd(figures.projectedUsd)}`);
  if (figures.estimateUsd !== null) parts.push(`estimate ${formatUsd(figures.estimateUsd)}`);
  parts.push(figures.budgetUsd === null ? 'no budget' : `budget ${formatUsd(figures.budgetUsd)}`);
  return parts.join(', ');
}

export class CostView {
  readonly root: HTMLElement;
  private readonly bar = element('div', { className: 'cost-bar', attributes: { role: 'img' } });
  private readonly projectedFill = element('div', { className: 'cost-projected' });
  private readonly spentFill = element('div', { className: 'cost-spent' });
  private readonly estimateMarker = element('div', { className: 'cost-marker estimate' });
  private readonly budgetMarker = element('div', { className: 'cost-marker budget' });
  private readonly values = new Map<Figure, HTMLElement>();
  private readonly note = element('p', { className: 'cost-note' });

  constructor() {
    this.bar.append(this.projectedFill, this.spentFill, this.estimateMarker, this.budgetMarker);
    const legend = element('dl', { className: 'cost-legend' });
    for (const figure of Object.keys(figureLabels) as Figure[]) {
      const value = element('dd', { className: `cost-value ${figure}` });
      this.values.set(figure, value);
      const swatch = element('span', { className: `legend-swatch swatch-${figure}`, attributes: { 'aria-hidden': 'true' } });
      legend.append(element('div', { className: 'cost-figure' }, [element('dt', {}, [swatch, document.createTextNode(figureLabels[figure])]), value]));
    }
    const { section } = titledSection('cost', 'Cost', 'cost panel');
    section.append(this.bar, legend, this.note);
    this.root = section;
  }

  update(figures: CostFigures): void {
    const layout = costBarLayout(figures);
    setAttribute(this.bar, 'aria-label', `Cost: ${costSummaryText(figures)}`);
    setWidthPercent(this.spentFill, layout.spentPercent);
    setWidthPercent(this.projectedFill, layout.projectedPercent ?? 0);
    this.spentFill.classList.toggle('over', layout.overBudget);
    placeMarker(this.estimateMarker, layout.estimatePercent);
    placeMarker(this.budgetMarker, layout.budgetPercent);
    const usd: Record<Figure, number | null> = {
      spent: figures.spentUsd,
      projected: figures.projectedUsd,
      estimate: figures.estimateUsd,
      budget: figures.budgetUsd,
    };
    for (const [figure, value] of this.values) setText(value, figure === 'budget' && usd.budget === null ? 'none' : formatUsd(usd[figure]));
    setText(this.note, costNote(figures, layout.overBudget, layout.overEstimate));
    this.note.dataset.tone = layout.overBudget ? 'warning' : 'info';
  }
}

function placeMarker(marker: HTMLElement, percent: number | null): void {
  marker.hidden = percent === null;
  if (percent !== null) setLeftPercent(marker, percent);
}

function costNote(figures: CostFigures, overBudget: boolean, overEstimate: boolean): string {
  if (overBudget) return `The projected cost passes the budget: the job will pause before spending more than ${formatUsd(figures.budgetUsd)}.`;
  if (overEstimate) return 'The projected cost is above the estimate.';
  return '';
}
