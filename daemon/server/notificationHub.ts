// Routes job events to the connected clients: job.state to every client (lists see new
// and finished jobs), everything else only to the subscribers of that job. Messages and
// reasons are redacted on the way out.
import type { JobLogEvent, JobProgress } from '../protocol/jobProgress';
import type { JobErrorGroup, JobState } from '../protocol/rpc';
import type { ClientSession } from './clientSession';
import type { JobEvents } from './jobEvents';
import type { Redactor } from './redactor';

export class NotificationHub implements JobEvents {
  private readonly sessions = new Set<ClientSession>();

  constructor(private readonly redactor: Redactor) {}

  get clientCount(): number {
    return this.sessions.size;
  }

  add(session: ClientSession): void {
    this.sessions.add(session);
  }

  remove(session: ClientSession): void {
    session.dispose();
    this.sessions.delete(session);
  }

  all(): ClientSession[] {
    return [...this.sessions];
  }

  progress(progress: JobProgress): void {
    const safe = this.redactReason(progress);
    for (const session of this.sessions) session.progress(safe);
  }

  log(event: JobLogEvent): void {
    const safe = { ...event, message: this.redactor.redact(event.message) };
    for (const session of this.sessions) session.notifyJob('job.log', event.jobId, safe);
  }

  errors(groups: JobErrorGroup[]): void {
    for (const group of groups) {
      const safe = { ...group, sampleMessage: this.redactor.redact(group.sampleMessage) };
      for (const session of this.sessions) session.notifyJob('job.error', group.jobId, safe);
    }
  }

  state(state: JobState): void {
    const safe = { ...this.redactReason(state), progress: state.progress && this.redactReason(state.progress) };
    for (const session of this.sessions) session.notify('job.state', safe);
  }

  private redactReason<T extends { statusReason: string | null }>(value: T): T {
    return value.statusReason === null ? value : { ...value, statusReason: this.redactor.redact(value.statusReason) };
  }
}
