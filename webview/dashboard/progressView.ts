// The progress bar (done and failed records against the total), the ETA and the counters.
import type { JobProgress } from '../../daemon/protocol/jobProgress';
import { element, setAttribute, setText, setWidthPercent, titledSection } from '../shared/dom';
import { formatCompact, formatCount, formatDuration, formatPercent, formatRate, noValue } from '../shared/format';

/** `412,000 / 5,000,000 records` or, while the source is still being counted, `412,000 / ~5,000,000`. */
export function progressText(progress: JobProgress): string {
  const { done, failed, total, totalExact } = progress.records;
  const finished = formatCount(done + failed);
  if (total === null) return `${finished} records (total not known yet)`;
  return `${finished} / ${totalExact ? '' : '~'}${formatCount(total)} records`;
}

export function etaText(progress: JobProgress): string {
  if (progress.status === 'done') return `took ${formatDuration(progress.elapsedSec)}`;
  if (progress.status !== 'running') return 'ETA —';
  return `ETA ${formatDuration(progress.etaSec)}`;
}

const statNames = ['records/s', 'tokens/s', 'requests', 'retries', 'rate-limited', 'cached', 'tokens in / out', 'elapsed'] as const;
type StatName = (typeof statNames)[number];

function statValues(progress: JobProgress): Record<StatName, string> {
  return {
    'records/s': formatRate(progress.rates.recordsPerSec),
    'tokens/s': formatRate(progress.rates.tokensPerSec),
    requests: formatCount(progress.requests),
    retries: formatCount(progress.retries),
    'rate-limited': formatCount(progress.rateLimited),
    cached: formatCount(progress.records.cached),
    'tokens in / out': `${formatCompact(progress.tokens.prompt)} / ${formatCompact(progress.tokens.completion)}`,
    elapsed: formatDuration(progress.elapsedSec),
  };
}

export class ProgressView {
  readonly root: HTMLElement;
  private readonly bar = element('div', {
    className: 'progress-bar',
    attributes: { role: 'progressbar', 'aria-label': 'Records finished', 'aria-valuemin': '0' },
  });
  private readonly doneFill = element('div', { className: 'progress-done' });
  private readonly failedFill = element('div', { className: 'progress-failed' });
  private readonly count = element('span', { className: 'progress-count', text: 'No progress yet' });
  private readonly percent = element('span', { className: 'progress-percent' });
  private readonly failed = element('span', { className: 'progress-failed-count' });
  private readonly eta = element('span', { className: 'progress-eta' });
  private readonly stats = new Map<StatName, HTMLElement>();

  constructor() {
    this.bar.append(this.doneFill, this.failedFill);
    const line = element('div', { className: 'progress-line' }, [this.count, this.percent, this.failed, this.eta]);
    const statList = element('dl', { className: 'stats' });
    for (const name of statNames) {
      const value = element('dd', { text: noValue });
      this.stats.set(name, value);
      statList.append(element('div', { className: 'stat' }, [element('dt', { text: name }), value]));
    }
    const { section } = titledSection('progress', 'Progress', 'progress panel');
    section.append(this.bar, line, statList);
    this.root = section;
  }

  update(progress: JobProgress): void {
    const { done, failed, total } = progress.records;
    const finished = done + failed;
    const percent = formatPercent(finished, total);
    this.bar.classList.toggle('indeterminate', total === null);
    setAttribute(this.bar, 'aria-valuemax', total === null ? null : String(total));
    setAttribute(this.bar, 'aria-valuenow', total === null ? null : String(Math.min(finished, total)));
    setAttribute(this.bar, 'aria-valuetext', percent === null ? progressText(progress) : `${percent}, ${progressText(progress)}`);
    setWidthPercent(this.doneFill, total ? (done / total) * 100 : 0);
    setWidthPercent(this.failedFill, total ? (failed / total) * 100 : 0);
    setText(this.count, progressText(progress));
    setText(this.percent, percent ?? '');
    setText(this.failed, failed > 0 ? `${formatCount(failed)} failed` : '');
    setText(this.eta, etaText(progress));
    const values = statValues(progress);
    for (const [name, value] of this.stats) setText(value, values[name]);
  }
}
