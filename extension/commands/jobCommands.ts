// Thin handlers for the commands that act on one job: pause, resume, cancel, delete, open
// its dashboard, export its results, and the view's refresh.
import * as vscode from 'vscode';
import type { DaemonConnection } from '../daemon/daemonConnection';
import type { JobLauncher } from '../jobs/jobLauncher';
import type { JobsModel } from '../jobs/jobsModel';
import { exportResults } from '../jobs/resultsExporter';
import type { DashboardPanels } from '../panels/dashboardPanels';
import type { ErrorReporter } from './errorReporter';
import { pickJob } from './jobPicker';

export interface JobCommandServices {
  connection: DaemonConnection;
  model: JobsModel;
  launcher: JobLauncher;
  dashboards: DashboardPanels;
  reporter: ErrorReporter;
}

export function registerJobCommands(services: JobCommandServices): vscode.Disposable[] {
  const { connection, model, launcher, dashboards, reporter } = services;
  const guarded =
    (what: string, body: (...args: unknown[]) => Promise<unknown>) =>
    async (...args: unknown[]) => {
      try {
        return await body(...args);
      } catch (error) {
        void reporter.report(what, error);
        return undefined;
      }
    };

  return [
    vscode.commands.registerCommand(
      'drover.pauseJob',
      guarded('Pause Job', async (argument) => {
        const jobId = await pickJob(model, argument, 'Pause Job', ['running']);
        if (jobId) return launcher.pause(jobId);
      }),
    ),
    vscode.commands.registerCommand(
      'drover.resumeJob',
      guarded('Resume Job', async (argument) => {
        const jobId = await pickJob(model, argument, 'Resume Job', ['paused', 'failed']);
        if (!jobId) return undefined;
        try {
          return await launcher.resume(jobId);
        } catch (error) {
          void reporter.report(`Resume ${jobId}`, error, { jobId, baseUrl: await primaryBaseUrl(connection, jobId) });
          return undefined;
        }
      }),
    ),
    vscode.commands.registerCommand(
      'drover.cancelJob',
      guarded('Cancel Job', async (argument) => {
        const jobId = await pickJob(model, argument, 'Cancel Job', ['running', 'paused', 'failed']);
        if (!jobId) return undefined;
        const confirmed = await vscode.window.showWarningMessage(
          `Cancel job ${jobId}? Finished records are kept and can be exported; the rest are not sent.`,
          { modal: true },
          'Cancel Job',
        );
        if (confirmed === 'Cancel Job') return launcher.cancel(jobId);
        return undefined;
      }),
    ),
    vscode.commands.registerCommand(
      'drover.deleteJob',
      guarded('Delete Job', async (argument) => {
        const jobId = await pickJob(model, argument, 'Delete Job', ['paused', 'failed', 'done', 'doneWithFailures', 'cancelled']);
        if (!jobId) return;
        const confirmed = await vscode.window.showWarningMessage(
          `Delete job ${jobId}? Its ledger and every result in it are removed (files a sink wrote stay).`,
          { modal: true },
          'Delete',
        );
        if (confirmed !== 'Delete') return;
        dashboards.get(jobId)?.dispose();
        await launcher.delete(jobId);
      }),
    ),
    vscode.commands.registerCommand(
      'drover.openDashboard',
      guarded('Open Dashboard', async (argument) => {
        const jobId = await pickJob(model, argument, 'Open Dashboard');
        if (jobId) dashboards.show(jobId);
      }),
    ),
    vscode.commands.registerCommand(
      'drover.exportResults',
      guarded('Export Results', async (argument, target) => {
        const jobId = await pickJob(model, argument, 'Export Results');
        if (!jobId) return undefined;
        const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
        const uri =
          target instanceof vscode.Uri
            ? target
            : await vscode.window.showSaveDialog({
                title: `Export the results of ${jobId}`,
                // Not `<job>.results.jsonl`: that is where Run Analysis points the job's own sink.
                defaultUri: folder ? vscode.Uri.joinPath(folder, `${jobId}.export.jsonl`) : undefined,
                filters: { 'JSON Lines': ['jsonl'], CSV: ['csv'] },
                saveLabel: 'Export',
              });
        if (!uri) return undefined;
        const client = await connection.client();
        const written = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Exporting ${jobId}`, cancellable: true },
          async (progress, token) => {
            const abort = new AbortController();
            token.onCancellationRequested(() => abort.abort());
            return exportResults(client, jobId, uri.fsPath, {
              signal: abort.signal,
              onProgress: (count, total) => progress.report({ message: `${count.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} records` }),
            });
          },
        );
        void vscode.window.showInformationMessage(`Exported ${written.toLocaleString('en-US')} results of ${jobId} to ${vscode.workspace.asRelativePath(uri)}.`, 'Open').then((choice) => {
          if (choice === 'Open') void vscode.window.showTextDocument(uri);
        });
        return { path: uri.fsPath, written };
      }),
    ),
    vscode.commands.registerCommand(
      'drover.refreshJobs',
      guarded('Refresh Jobs', async () => {
        await model.load();
        await Promise.all(model.jobs().map((entry) => model.refreshJob(entry.info.jobId)));
      }),
    ),
    vscode.commands.registerCommand(
      'drover.restartDaemon',
      guarded('Restart Daemon', async () => {
        await connection.restart();
        await model.load();
      }),
    ),
  ];
}

/** The job's primary provider, for the "Set API Key" action. */
export async function primaryBaseUrl(connection: DaemonConnection, jobId: string): Promise<string | undefined> {
  try {
    const client = await connection.client();
    const { spec } = await client.call('job.get', { jobId });
    const provider = spec.provider;
    if (typeof provider === 'object' && provider !== null && 'baseUrl' in provider && typeof provider.baseUrl === 'string') return provider.baseUrl;
  } catch {
    // The message about the original failure is what matters.
  }
  return undefined;
}
