// Composition root: builds the extension's parts, wires them to each other and registers
// what VS Code calls. Nothing here talks to the daemon at activation: the connection is
// made by the first command (or view) that needs it.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { processAlive, readDiscovery } from '../daemon/daemonClient/discovery';
import { version } from '../daemon/version';
import { registerAnalysisCommand } from './commands/analysisCommands';
import { registerApiKeyCommands } from './commands/apiKeyCommands';
import { ErrorReporter } from './commands/errorReporter';
import { primaryBaseUrl, registerJobCommands } from './commands/jobCommands';
import { registerSpecCommands } from './commands/specCommands';
import { DaemonConnection } from './daemon/daemonConnection';
import { daemonLogFile, DaemonLogTail } from './daemon/daemonLogTail';
import { findDaemonRuntime } from './daemon/nodeRuntime';
import { EstimateStore } from './jobs/estimateStore';
import { JobLauncher } from './jobs/jobLauncher';
import { JobsModel } from './jobs/jobsModel';
import { JobsStatusBar } from './jobs/jobsStatusBar';
import { JobsTreeDataProvider } from './jobs/jobsTreeDataProvider';
import { dashboardViewType } from './panels/dashboardPanel';
import { DashboardPanels } from './panels/dashboardPanels';
import { PreviewPanel } from './preview/previewPanel';
import { isPreviewJob } from './preview/previewRun';
import { ApiKeyStore } from './secrets/apiKeyStore';
import { readSettings } from './settings/droverSettings';
import { SpecCodeLensProvider } from './specs/specCodeLensProvider';

/** What activate() returns: the extension's live parts, for its integration tests. */
export interface DroverExtensionApi {
  connection: DaemonConnection;
  model: JobsModel;
  jobsTree: JobsTreeDataProvider;
  dashboards: DashboardPanels;
  preview: PreviewPanel;
  stateDir(): string;
}

/** A daemon started by an editor leaves this long after its last client and job. */
const daemonIdleExitMinutes = 30;

export function activate(context: vscode.ExtensionContext): DroverExtensionApi {
  // One channel for the whole extension, the daemon's own log lines included, so "Show Logs"
  // is the first place a user looks when something goes wrong.
  const logs = vscode.window.createOutputChannel('Drover', { log: true });
  context.subscriptions.push(logs);
  logs.info(`Drover activated (version ${version})`);

  const settings = () => readSettings();
  const stateDir = () => settings().stateDir;
  const reporter = new ErrorReporter(logs);

  const connection = new DaemonConnection({
    stateDir,
    clientName: `vscode ${vscode.version} (${vscode.env.appName})`,
    log: logs,
    launchPlan: async (dir) => {
      const runtime = await findDaemonRuntime({ configuredPath: settings().nodePath, extensionPath: context.extensionPath, editorExecutable: process.execPath });
      logs.info(`the daemon runs on ${runtime.command} (${runtime.origin})`);
      return {
        command: runtime.command,
        args: [context.asAbsolutePath(join('dist', 'daemon.js')), '--state-dir', dir, '--idle-exit-minutes', String(daemonIdleExitMinutes)],
        env: { ...process.env, ...runtime.env },
      };
    },
  });
  context.subscriptions.push({ dispose: () => void connection.dispose() });

  let logTail: DaemonLogTail | null = null;
  context.subscriptions.push(
    { dispose: () => logTail?.stop() },
    connection.onDidChangeState(({ state, detail }) => {
      logs.info(`daemon connection: ${state}${detail ? ` (${detail})` : ''}`);
      void vscode.commands.executeCommand('setContext', 'drover.daemonState', state);
      logTail?.stop();
      logTail = null;
      // Giving up is news nobody asked for: say so (a failed start is reported by the command).
      if (state === 'failed' && connection.failure?.gaveUp) void reporter.report('Drover daemon', connection.failure);
      if (state !== 'running') return;
      const tail = new DaemonLogTail(daemonLogFile(stateDir()), (entry) => logs[entry.level === 'debug' ? 'debug' : entry.level](`[daemon] ${entry.text}`));
      logTail = tail;
      void tail.start();
    }),
  );

  const model = new JobsModel(connection, { isHidden: isPreviewJob, onProblem: (message) => logs.warn(message) });
  const keys = new ApiKeyStore(context.secrets, context.globalState);
  const estimates = new EstimateStore(context.globalState, stateDir);
  const launcher = new JobLauncher(connection, keys, settings, model, estimates);
  context.subscriptions.push({ dispose: () => model.dispose() });

  // Opening the view attaches only when there is something to show: a daemon already running,
  // or jobs from earlier in the state directory. Otherwise its welcome content shows.
  const jobsTree = new JobsTreeDataProvider(model, () => hasDaemonOrJobs(stateDir()), (error) => logs.warn(`cannot list jobs: ${String(error)}`));
  const jobsView = vscode.window.createTreeView('drover.jobs', { treeDataProvider: jobsTree, showCollapseAll: true });
  context.subscriptions.push(jobsTree, jobsView, new JobsStatusBar(connection, model));

  const dashboards = new DashboardPanels({
    extensionUri: context.extensionUri,
    connection,
    model,
    launcher,
    estimates,
    reporter,
    logs,
    workspaceRoot: () => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
    baseUrlOf: (jobId) => primaryBaseUrl(connection, jobId),
  });
  const preview = new PreviewPanel({ extensionUri: context.extensionUri, connection, launcher, keys, reporter, logs, recordLimit: () => settings().previewRecords });
  context.subscriptions.push(dashboards, preview, vscode.window.registerWebviewPanelSerializer(dashboardViewType, dashboards));

  const specServices = { launcher, dashboards, preview, reporter, settings };
  context.subscriptions.push(
    vscode.commands.registerCommand('drover.showLogs', () => logs.show()),
    ...registerApiKeyCommands(keys, settings, logs),
    ...registerJobCommands({ connection, model, launcher, dashboards, reporter }),
    ...registerSpecCommands(specServices),
    registerAnalysisCommand({ connection, launcher, settings, memento: context.globalState }, specServices, estimates, reporter),
    vscode.languages.registerCodeLensProvider({ pattern: '**/*.drover.json' }, new SpecCodeLensProvider()),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration('drover.stateDir') && !event.affectsConfiguration('drover.daemon.nodePath')) return;
      if (connection.state === 'stopped') return;
      logs.info('the daemon settings changed: connecting again');
      connection.restart().then(
        () => model.load(),
        (error: unknown) => void reporter.report('Reconnect to the daemon', error),
      );
    }),
    model.onDidChangeJobs(() => {
      // A job started from this window shows selected in the view.
      const running = model.jobs().find((entry) => entry.info.active);
      if (running && jobsView.visible) void jobsView.reveal(jobsTree.jobElement(running.info.jobId), { select: false, focus: false });
    }),
  );

  return { connection, model, jobsTree, dashboards, preview, stateDir };
}

export function deactivate(): void {}

function hasDaemonOrJobs(stateDir: string): boolean {
  const discovery = readDiscovery(stateDir);
  if (discovery && processAlive(discovery.pid)) return true;
  const jobs = join(stateDir, 'jobs');
  try {
    return existsSync(jobs) && readdirSync(jobs).length > 0;
  } catch {
    return false;
  }
}
