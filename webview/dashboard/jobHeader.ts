// The top of the dashboard: the job's name, its phase as a badge and what it runs.
import type { JobSpecSummary } from '../protocol/dashboardMessages';
import { element, setAttribute, setText } from '../shared/dom';
import { formatCount, formatUsd } from '../shared/format';
import { type JobPhase, phaseLabel } from './jobPhase';

/** `gpt-4.1 · sqlite feedback.db · 64 at once · 3,000 rpm · 1,000,000 tpm · budget $50.00`. */
export function specSummaryText(spec: JobSpecSummary): string {
  const parts = [spec.model, spec.source, `${formatCount(spec.limits.concurrency)} at once`];
  if (spec.limits.rpm !== null) parts.push(`${formatCount(spec.limits.rpm)} rpm`);
  if (spec.limits.tpm !== null) parts.push(`${formatCount(spec.limits.tpm)} tpm`);
  parts.push(spec.budgetUsd === null ? 'no budget' : `budget ${formatUsd(spec.budgetUsd)}`);
  if (spec.sink !== null) parts.push(`→ ${spec.sink}`);
  return parts.join(' · ');
}

export class JobHeader {
  readonly root: HTMLElement;
  private readonly name = element('h1', { className: 'job-name', text: 'Loading job…' });
  private readonly badge = element('span', { className: 'phase-badge', attributes: { 'data-phase': 'waiting' } });
  private readonly spec = element('p', { className: 'job-spec' });

  constructor(controls: HTMLElement) {
    const title = element('div', { className: 'job-title' }, [this.name, this.badge]);
    this.root = element('header', { className: 'job-header' }, [element('div', { className: 'job-heading' }, [title, this.spec]), controls]);
  }

  update(name: string, spec: JobSpecSummary | null, phase: JobPhase): void {
    setText(this.name, name);
    setText(this.badge, phaseLabel[phase]);
    setAttribute(this.badge, 'data-phase', phase);
    setText(this.spec, spec === null ? '' : specSummaryText(spec));
  }
}
