// Turns what went wrong (a daemon refusal, a lost connection, a bad setting) into one
// message with the actions that fix it — "Set API Key", "Open Settings", "Show Logs" — and
// writes every one to the log, so "Show Logs" always has the whole story.
import * as vscode from 'vscode';
import { DaemonConnectionError, DaemonRpcError } from '../../daemon/daemonClient/daemonClient';
import { rpcErrorCode } from '../../daemon/protocol/rpc';
import { DaemonUnavailableError } from '../daemon/daemonConnection';
import { DaemonRuntimeError } from '../daemon/nodeRuntime';
import { UntrustedWorkspaceError } from '../jobs/jobLauncher';
import { openSettings, SettingsError } from '../settings/droverSettings';

type Action = 'Set API Key' | 'Open Settings' | 'Show Logs' | 'Restart Daemon' | 'Open Job File' | 'Open Dashboard' | 'Manage Workspace Trust';

interface Report {
  severity: 'error' | 'warning' | 'info';
  message: string;
  actions: Action[];
  setting?: string;
}

export interface ErrorContext {
  /** The spec file the action was about, offered by "Open Job File". */
  specUri?: vscode.Uri;
  jobId?: string;
  /** The provider whose key "Set API Key" should ask for. */
  baseUrl?: string;
}

function problemsOf(data: unknown): string[] {
  if (typeof data !== 'object' || data === null || !('problems' in data) || !Array.isArray(data.problems)) return [];
  return data.problems.filter((problem): problem is string => typeof problem === 'string');
}

function describe(error: unknown, context: ErrorContext): Report {
  if (error instanceof UntrustedWorkspaceError) return { severity: 'warning', message: error.message, actions: ['Manage Workspace Trust'] };
  if (error instanceof SettingsError) return { severity: 'error', message: error.message, actions: ['Open Settings'], setting: error.setting };
  if (error instanceof DaemonRuntimeError) return { severity: 'error', message: error.message, actions: ['Open Settings', 'Show Logs'], setting: 'drover.daemon.nodePath' };
  if (error instanceof DaemonUnavailableError) {
    return { severity: 'error', message: error.message, actions: error.gaveUp ? ['Restart Daemon', 'Show Logs'] : ['Show Logs', 'Open Settings'], setting: 'drover.daemon' };
  }
  if (error instanceof DaemonConnectionError) return { severity: 'error', message: `Lost the Drover daemon: ${error.message}`, actions: ['Show Logs'] };
  if (error instanceof DaemonRpcError) {
    const fileAction: Action[] = context.specUri ? ['Open Job File'] : [];
    switch (error.code) {
      case rpcErrorCode.jobSetup:
        return {
          severity: 'error',
          message: error.message,
          actions: /api key/i.test(error.message) ? ['Set API Key', 'Show Logs'] : ['Open Settings', 'Show Logs'],
        };
      case rpcErrorCode.specInvalid: {
        const problems = problemsOf(error.data);
        const detail = problems.length > 0 ? problems.join('; ') : error.message;
        return { severity: 'error', message: `The job spec is not valid: ${detail}`, actions: fileAction };
      }
      case rpcErrorCode.sourceError:
        return { severity: 'error', message: error.message, actions: [...fileAction, 'Show Logs'] };
      case rpcErrorCode.jobRunning:
        return { severity: 'info', message: error.message, actions: context.jobId ? ['Open Dashboard'] : [] };
      case rpcErrorCode.jobNotRunning:
      case rpcErrorCode.jobNotFound:
        return { severity: 'warning', message: error.message, actions: [] };
      default:
        return { severity: 'error', message: `The Drover daemon failed: ${error.message}`, actions: ['Show Logs'] };
    }
  }
  return { severity: 'error', message: error instanceof Error ? error.message : String(error), actions: ['Show Logs'] };
}

export class ErrorReporter {
  constructor(private readonly logs: vscode.LogOutputChannel) {}

  /** Logs and shows the error; resolves once the user picked an action (or dismissed it). */
  async report(what: string, error: unknown, context: ErrorContext = {}): Promise<void> {
    const report = describe(error, context);
    const message = `${what}: ${report.message}`;
    if (report.severity === 'error') this.logs.error(message);
    else this.logs.warn(message);
    const show =
      report.severity === 'error' ? vscode.window.showErrorMessage : report.severity === 'warning' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    const picked = await show(message, ...report.actions);
    switch (picked) {
      case 'Set API Key':
        await vscode.commands.executeCommand('drover.setApiKey', context.baseUrl ? { baseUrl: context.baseUrl } : undefined);
        break;
      case 'Open Settings':
        await openSettings(report.setting);
        break;
      case 'Show Logs':
        this.logs.show();
        break;
      case 'Restart Daemon':
        await vscode.commands.executeCommand('drover.restartDaemon');
        break;
      case 'Open Job File':
        if (context.specUri) await vscode.window.showTextDocument(context.specUri);
        break;
      case 'Manage Workspace Trust':
        await vscode.commands.executeCommand('workbench.trust.manage');
        break;
      case 'Open Dashboard':
        if (context.jobId) await vscode.commands.executeCommand('drover.openDashboard', context.jobId);
        break;
      case undefined:
        break;
    }
  }
}
