// What state a job is in as the user should read it, and what that means for the banner
// and the buttons. Pure, so the rules are tested without a browser.
import type { JobProgress } from '../../daemon/protocol/jobProgress';
import { formatCount, formatDuration, formatUsd } from '../shared/format';

/** `failed` is a job the engine paused on a fatal error: it can resume once that is fixed. */
export type JobPhase = 'waiting' | 'running' | 'paused' | 'overBudget' | 'failed' | 'done' | 'cancelled';

export const phaseLabel: Record<JobPhase, string> = {
  waiting: 'Waiting',
  running: 'Running',
  paused: 'Paused',
  overBudget: 'Paused at budget',
  failed: 'Failed',
  done: 'Done',
  cancelled: 'Cancelled',
};

/** Fatal classes a different API key can fix. */
const keyErrorClasses = new Set(['auth', 'forbidden']);

export function jobPhase(progress: JobProgress | null): JobPhase {
  if (progress === null) return 'waiting';
  if (progress.status !== 'paused') return progress.status;
  if (progress.pauseClass === null || progress.pauseClass === 'user') return 'paused';
  return progress.pauseClass === 'budget' ? 'overBudget' : 'failed';
}

export type BannerAction = 'setApiKey' | 'showLogs';

export interface Banner {
  tone: 'info' | 'warning' | 'error' | 'success';
  message: string;
  actions: BannerAction[];
}

export function bannerFor(progress: JobProgress | null): Banner | null {
  const phase = jobPhase(progress);
  if (progress === null || phase === 'waiting') return null;
  const reason = progress.statusReason;
  switch (phase) {
    case 'running':
      return reason === null ? null : { tone: 'info', message: reason, actions: [] };
    case 'paused':
      return { tone: 'info', message: reason ?? 'Paused. Resume to go on; finished records are kept.', actions: [] };
    case 'overBudget':
      return {
        tone: 'warning',
        message: reason ?? `Paused before passing the budget of ${formatUsd(progress.budgetUsd)}. Raise limits.budgetUsd to go on.`,
        actions: [],
      };
    case 'failed':
      return {
        tone: 'error',
        message: reason ?? `Stopped on a fatal error (${progress.pauseClass}). Fix it and resume; finished records are kept.`,
        actions: keyErrorClasses.has(progress.pauseClass ?? '') ? ['setApiKey', 'showLogs'] : ['showLogs'],
      };
    case 'done':
      return { tone: 'success', message: doneMessage(progress), actions: [] };
    case 'cancelled':
      return { tone: 'info', message: reason ?? 'Cancelled. Finished records are kept and can be exported.', actions: [] };
  }
}

function doneMessage(progress: JobProgress): string {
  const { done, failed } = progress.records;
  const failedText = failed > 0 ? ` (${formatCount(failed)} failed)` : '';
  return `Finished ${formatCount(done + failed)} records${failedText} in ${formatDuration(progress.elapsedSec)} for ${formatUsd(progress.costUsd)}.`;
}

export interface ControlState {
  pause: boolean;
  resume: boolean;
  cancel: boolean;
  openResults: boolean;
}

export function controlsFor(progress: JobProgress | null): ControlState {
  const status = progress?.status;
  const finished = progress === null ? 0 : progress.records.done + progress.records.failed;
  return {
    pause: status === 'running',
    resume: status === 'paused',
    cancel: status === 'running' || status === 'paused',
    openResults: finished > 0,
  };
}
