// Which job a job command is about: the one it was given (a tree item, a job id from a
// CodeLens or a dashboard), else the user's pick from the jobs that command applies to.
import * as vscode from 'vscode';
import { displayState, jobDescription, stateIcon, type JobDisplayState } from '../jobs/jobPresentation';
import type { JobsModel } from '../jobs/jobsModel';

export function jobIdFrom(argument: unknown): string | undefined {
  if (typeof argument === 'string' && argument.length > 0) return argument;
  if (typeof argument === 'object' && argument !== null && 'jobId' in argument && typeof argument.jobId === 'string') return argument.jobId;
  return undefined;
}

export async function pickJob(model: JobsModel, argument: unknown, title: string, states?: readonly JobDisplayState[]): Promise<string | undefined> {
  const given = jobIdFrom(argument);
  if (given) return given;
  await model.load();
  const candidates = model.jobs().filter((entry) => !states || states.includes(displayState(entry.info, entry.progress)));
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage(`${title}: there is no job to choose${states ? ` (${states.join(', ')})` : ''}.`);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    candidates.map((entry) => ({
      label: `$(${stateIcon[displayState(entry.info, entry.progress)]}) ${entry.info.jobId}`,
      description: jobDescription(entry.info, entry.progress),
      jobId: entry.info.jobId,
    })),
    { title, placeHolder: 'Choose a job' },
  );
  return picked?.jobId;
}
