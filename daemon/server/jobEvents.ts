// What the daemon's jobs report, and the notification hub forwards to clients.
import type { JobLogEvent, JobProgress } from '../protocol/jobProgress';
import type { JobErrorGroup, JobState } from '../protocol/rpc';

export interface JobEvents {
  progress(progress: JobProgress): void;
  log(event: JobLogEvent): void;
  errors(groups: JobErrorGroup[]): void;
  state(state: JobState): void;
}
