// Turns a job's stream of error events (possibly thousands a second) into one group per
// class and outcome per interval, each with a count and a sample, for job.error.
import type { JobErrorEvent } from '../protocol/jobProgress';
import type { JobErrorGroup } from '../protocol/rpc';

export class ErrorGrouper {
  private groups = new Map<string, JobErrorGroup>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly send: (groups: JobErrorGroup[]) => void,
  ) {}

  add(event: JobErrorEvent): void {
    const id = `${event.errorClass}\u0000${event.outcome}`;
    const group = this.groups.get(id);
    if (group) group.count += 1;
    else {
      this.groups.set(id, {
        jobId: event.jobId,
        errorClass: event.errorClass,
        outcome: event.outcome,
        count: 1,
        sampleKey: event.key,
        sampleMessage: event.message,
      });
    }
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.groups.size === 0) return;
    const groups = [...this.groups.values()];
    this.groups = new Map();
    this.send(groups);
  }
}
