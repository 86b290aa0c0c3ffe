// "Drover: Run Analysis…": source type → file or connection → table or query → key →
// fields for the prompt → task → model (each priced by an estimate of this very job) →
// limits and budget → name → confirmation with the estimate. It saves `<name>.drover.json`
// in the workspace and, unless the user only wanted the file, starts the job.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as vscode from 'vscode';
import type { JobEstimate } from '../../daemon/protocol/estimate';
import type { DaemonConnection } from '../daemon/daemonConnection';
import { requireTrust, type JobLauncher } from '../jobs/jobLauncher';
import type { DroverSettings } from '../settings/droverSettings';
import { buildAnalysisSpec } from './analysisSpec';
import { JobSteps } from './jobSteps';
import { MultiStepInput } from './multiStepInput';
import { SourceSteps } from './sourceSteps';
import { answersOf, initialState, type WizardState } from './wizardState';

export interface WizardServices {
  connection: DaemonConnection;
  launcher: JobLauncher;
  settings(): DroverSettings;
  memento: vscode.Memento;
}

export interface WizardResult {
  specUri: vscode.Uri;
  start: boolean;
  /** The estimate the confirmation showed, for the job's dashboard. */
  estimate: JobEstimate | undefined;
}

export async function runAnalysisWizard(services: WizardServices): Promise<WizardResult | undefined> {
  requireTrust('run analyses');
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!root) throw new Error('Open a folder first: Run Analysis saves the job file (<name>.drover.json) in the workspace.');
  const state = initialState(root, services.settings());
  const job = new JobSteps(services.launcher);
  const source = new SourceSteps(services.connection, services.memento, job.task);
  if (!(await MultiStepInput.run<WizardState>(source.sourceType, state))) return undefined;

  const specPath = join(root, `${state.name}.drover.json`);
  if (existsSync(specPath)) {
    const replace = await vscode.window.showWarningMessage(`${basename(specPath)} exists. Replace it?`, { modal: true }, 'Replace');
    if (replace !== 'Replace') return undefined;
  }
  await writeFile(specPath, `${JSON.stringify(buildAnalysisSpec(answersOf(state), root), null, 2)}\n`);
  return { specUri: vscode.Uri.file(specPath), start: state.start, estimate: state.estimate };
}
