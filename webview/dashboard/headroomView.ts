// Rate-limit headroom: requests and tokens available in the buckets against their limits,
// requests in flight against the concurrency, and any hold the provider asked for.
import type { JobProgress } from '../../daemon/protocol/jobProgress';
import { element, setAttribute, setText, setWidthPercent, titledSection } from '../shared/dom';
import { formatCompact, formatDuration } from '../shared/format';

type Bucket = JobProgress['headroom']['requests'];

class MeterRow {
  readonly root: HTMLElement;
  private readonly meter: HTMLElement;
  private readonly fill = element('div', { className: 'meter-fill' });
  private readonly value = element('span', { className: 'meter-value' });

  constructor(label: string, accessibleName: string) {
    this.meter = element('div', { className: 'meter', attributes: { role: 'meter', 'aria-label': accessibleName, 'aria-valuemin': '0' } }, [this.fill]);
    this.root = element('div', { className: 'meter-row' }, [element('span', { className: 'meter-label', text: label }), this.meter, this.value]);
  }

  update(amount: number | null, limit: number | null, text: string): void {
    const measured = amount !== null && limit !== null && limit > 0;
    this.meter.hidden = !measured;
    setText(this.value, text);
    if (!measured) return;
    setAttribute(this.meter, 'aria-valuemax', String(limit));
    setAttribute(this.meter, 'aria-valuenow', String(Math.round(amount)));
    setAttribute(this.meter, 'aria-valuetext', text);
    setWidthPercent(this.fill, (amount / limit) * 100);
    // Nearly empty buckets are what slows a job down: say so in colour as well as in numbers.
    this.fill.classList.toggle('low', amount / limit < 0.1);
  }
}

function bucketText(bucket: Bucket, unit: string): string {
  if (bucket === null) return `no ${unit} limit`;
  return `${formatCompact(Math.max(0, Math.floor(bucket.available)))} / ${formatCompact(bucket.limit)} ${unit} available`;
}

export class HeadroomView {
  readonly root: HTMLElement;
  private readonly requests = new MeterRow('Requests', 'Requests available in the rate limit');
  private readonly tokens = new MeterRow('Tokens', 'Tokens available in the rate limit');
  private readonly inFlight = new MeterRow('In flight', 'Requests in flight');
  private readonly hold = element('p', { className: 'hold' });
  private readonly endpoint = element('p', { className: 'endpoint' });
  private readonly waiting = element('p', { className: 'empty', text: 'No numbers until the job reports.' });
  private readonly rows = element('div', { className: 'headroom-rows' });

  constructor() {
    const { section } = titledSection('headroom', 'Rate limits', 'headroom panel');
    this.rows.append(this.requests.root, this.tokens.root, this.inFlight.root, this.hold, this.endpoint);
    this.rows.hidden = true;
    section.append(this.waiting, this.rows);
    this.root = section;
  }

  update(progress: JobProgress, concurrency: number | null): void {
    this.waiting.hidden = true;
    this.rows.hidden = false;
    const { requests, tokens, holdMs } = progress.headroom;
    this.requests.update(requests?.available ?? null, requests?.limit ?? null, bucketText(requests, 'requests'));
    this.tokens.update(tokens?.available ?? null, tokens?.limit ?? null, bucketText(tokens, 'tokens'));
    const inFlightText = concurrency === null ? `${progress.inFlight} in flight` : `${progress.inFlight} / ${concurrency} in flight`;
    this.inFlight.update(progress.inFlight, concurrency, inFlightText);
    setText(this.hold, holdMs > 0 ? `Holding new requests for ${formatDuration(holdMs / 1000)} (the provider asked to wait)` : 'No hold');
    this.hold.classList.toggle('holding', holdMs > 0);
    setText(this.endpoint, progress.endpoint === '' ? '' : `Endpoint: ${progress.endpoint}`);
  }
}
