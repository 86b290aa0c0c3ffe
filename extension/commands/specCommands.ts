// Thin handlers for what acts on a job spec or on records: Run Job File, Estimate Cost and
// Preview Records (a spec, a data file from the Explorer, or a selection in an editor).
import * as vscode from 'vscode';
import { modify, applyEdits } from 'jsonc-parser';
import type { JobEstimate } from '../../daemon/protocol/estimate';
import type { JobLauncher } from '../jobs/jobLauncher';
import type { DashboardPanels } from '../panels/dashboardPanels';
import { previewOfFile, previewOfSelection, previewOfSpec } from '../preview/previewRequest';
import type { PreviewPanel } from '../preview/previewPanel';
import { formatOfFile } from '../preview/recordSelection';
import type { DroverSettings } from '../settings/droverSettings';
import { chosenModel, estimateCaveats, estimateSummary, modelCostText } from '../specs/estimateText';
import { endpointBaseUrls, isSpecFile, readSpecFile, specFileGlob, specName } from '../specs/jobSpecFile';
import type { ErrorReporter } from './errorReporter';

export interface SpecCommandServices {
  launcher: JobLauncher;
  dashboards: DashboardPanels;
  preview: PreviewPanel;
  reporter: ErrorReporter;
  settings(): DroverSettings;
}

/** The spec a command is about: the one it was given, the active editor's, or the user's pick. */
async function specUri(argument: unknown, title: string): Promise<vscode.Uri | undefined> {
  if (argument instanceof vscode.Uri) return argument;
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active && isSpecFile(active)) return active;
  const found = await vscode.workspace.findFiles(specFileGlob, '**/node_modules/**', 200);
  if (found.length === 0) {
    const choice = await vscode.window.showInformationMessage(`${title}: this workspace has no *.drover.json job file yet.`, 'Run Analysis…');
    if (choice) await vscode.commands.executeCommand('drover.runAnalysis');
    return undefined;
  }
  if (found.length === 1) return found[0];
  const picked = await vscode.window.showQuickPick(
    found.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri })),
    { title, placeHolder: 'Choose a job file' },
  );
  return picked?.uri;
}

export async function startSpecFile(uri: vscode.Uri, services: SpecCommandServices): Promise<string | undefined> {
  const spec = await readSpecFile(uri);
  try {
    const info = await services.launcher.start(spec);
    services.dashboards.show(info.jobId);
    return info.jobId;
  } catch (error) {
    void services.reporter.report(`Run ${vscode.workspace.asRelativePath(uri)}`, error, {
      specUri: uri,
      jobId: specName(spec.input),
      baseUrl: endpointBaseUrls(spec.input)[0],
    });
    return undefined;
  }
}

async function compareModels(uri: vscode.Uri, estimate: JobEstimate): Promise<void> {
  const picked = await vscode.window.showQuickPick(
    estimate.models.map((model) => ({
      label: model.model,
      description: `${modelCostText(model)}${model.chosen ? ' · in the spec' : ''}`,
      detail: model.inputPerMTok === null ? 'no known price: add it under "prices" or drover.prices' : `$${model.inputPerMTok} in / $${model.outputPerMTok} out per million tokens`,
      model: model.model,
      chosen: model.chosen,
    })),
    { title: `Models for ${estimate.jobId}`, placeHolder: 'Pick a model to use it in the job file' },
  );
  if (!picked || picked.chosen) return;
  const document = await vscode.workspace.openTextDocument(uri);
  const text = document.getText();
  const edits = modify(text, ['model'], picked.model, { formattingOptions: { insertSpaces: true, tabSize: 2 } });
  const edit = new vscode.WorkspaceEdit();
  edit.replace(uri, new vscode.Range(document.positionAt(0), document.positionAt(text.length)), applyEdits(text, edits));
  await vscode.workspace.applyEdit(edit);
  await document.save();
}

export function registerSpecCommands(services: SpecCommandServices): vscode.Disposable[] {
  const { launcher, preview, reporter } = services;
  return [
    vscode.commands.registerCommand('drover.runJobFile', async (argument: unknown) => {
      try {
        const uri = await specUri(argument, 'Run Job File');
        return uri ? await startSpecFile(uri, services) : undefined;
      } catch (error) {
        void reporter.report('Run Job File', error);
        return undefined;
      }
    }),
    vscode.commands.registerCommand('drover.estimateCost', async (argument: unknown) => {
      let uri: vscode.Uri | undefined;
      try {
        uri = await specUri(argument, 'Estimate Cost');
        if (!uri) return undefined;
        const spec = await readSpecFile(uri);
        const estimate = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Estimating ${vscode.workspace.asRelativePath(uri)}…` },
          () => launcher.estimate(spec),
        );
        const caveats = estimateCaveats(estimate);
        const chosen = chosenModel(estimate);
        const target = uri;
        void vscode.window
          .showInformationMessage(`${estimate.jobId}: ${estimateSummary(estimate)}${caveats ? ` (${caveats})` : ''}`, 'Run', 'Compare Models')
          .then(async (choice) => {
            if (choice === 'Run') await startSpecFile(target, services);
            if (choice === 'Compare Models') await compareModels(target, estimate);
          });
        return { estimate, chosenCostUsd: chosen?.costUsd ?? null };
      } catch (error) {
        void reporter.report('Estimate Cost', error, { specUri: uri });
        return undefined;
      }
    }),
    vscode.commands.registerCommand('drover.previewRecords', async (argument: unknown) => {
      try {
        const settings = services.settings();
        if (argument instanceof vscode.Uri) {
          await preview.show(isSpecFile(argument) ? await previewOfSpec(argument) : await previewOfFile(argument, settings));
          return;
        }
        const editor = vscode.window.activeTextEditor;
        if (!editor) {
          void vscode.window.showInformationMessage('Preview Records: open a job file, or a JSON, JSONL or CSV file (and select the records to preview).');
          return;
        }
        const { document, selection } = editor;
        if (isSpecFile(document.uri)) await preview.show(await previewOfSpec(document.uri));
        else if (!selection.isEmpty) await preview.show(await previewOfSelection(document, selection, settings));
        else if (formatOfFile(document.fileName)) await preview.show(await previewOfFile(document.uri, settings));
        else void vscode.window.showInformationMessage(`Preview Records: ${vscode.workspace.asRelativePath(document.uri)} is not a job file or a JSON, JSONL or CSV file.`);
      } catch (error) {
        void reporter.report('Preview Records', error);
      }
    }),
  ];
}
