// What a dashboard panel needs from the rest of the extension, handed in by the
// composition root (extension.ts).
import type * as vscode from 'vscode';
import type { ExtensionToDashboard } from '../../webview/protocol/dashboardMessages';
import type { DaemonConnection } from '../daemon/daemonConnection';
import type { ErrorReporter } from '../commands/errorReporter';
import type { EstimateStore } from '../jobs/estimateStore';
import type { JobLauncher } from '../jobs/jobLauncher';
import type { JobsModel } from '../jobs/jobsModel';

export interface DashboardServices {
  extensionUri: vscode.Uri;
  connection: DaemonConnection;
  model: JobsModel;
  launcher: JobLauncher;
  estimates: EstimateStore;
  reporter: ErrorReporter;
  logs: vscode.LogOutputChannel;
  /** The first workspace folder's path, which the header shows paths relative to. */
  workspaceRoot(): string | undefined;
  /** The job's primary provider, for "Set API Key" from the banner. */
  baseUrlOf(jobId: string): Promise<string | undefined>;
  /** Called after each message went to the webview (the tests watch the flow with it). */
  onDidPost(jobId: string, type: ExtensionToDashboard['type']): void;
}
