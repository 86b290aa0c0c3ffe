// One job's dashboard: the host side of the webview in webview/dashboard. The webview says
// `ready`, gets a full snapshot, then coalesced updates (progress at most 10 a second) —
// none while the panel is hidden, and a fresh snapshot when it shows again. Every message
// is checked against webview/protocol/dashboardMessages.ts in both directions.
import * as vscode from 'vscode';
import { LatestThrottle } from '../../daemon/server/latestThrottle';
import type { JobProgress } from '../../daemon/protocol/jobProgress';
import { rpcErrorCode, type JobInfo, type RpcResult } from '../../daemon/protocol/rpc';
import { DaemonRpcError } from '../../daemon/daemonClient/daemonClient';
import {
  type DashboardSnapshot,
  type DashboardToExtension,
  dashboardToExtensionSchema,
  type ExtensionToDashboard,
  extensionToDashboardSchema,
  type ResultsPage,
} from '../../webview/protocol/dashboardMessages';
import { webviewHtml } from '../webview/webviewHtml';
import { displayState } from '../jobs/jobPresentation';
import type { DashboardServices } from './dashboardServices';
import { progressAtRest, summarizeSpec } from './jobSpecSummary';

export const dashboardViewType = 'drover.dashboard';

const progressIntervalMs = 100;
/** While a job runs, the page of results on screen is re-read this often at most. */
const resultsRefreshMs = 2000;
const defaultPage = { offset: 0, limit: 50 };

export class DashboardPanel implements vscode.Disposable {
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly progressUpdates: LatestThrottle<JobProgress>;
  private page = defaultPage;
  private lastErrors: unknown = null;
  private lastResultsAt = 0;
  /** A snapshot reached the webview since it last showed: updates may follow it. */
  private live = false;
  private disposed = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly jobId: string,
    private readonly services: DashboardServices,
    private readonly onDispose: () => void,
  ) {
    const assets = vscode.Uri.joinPath(services.extensionUri, 'dist', 'webview');
    panel.webview.options = { enableScripts: true, localResourceRoots: [assets] };
    panel.iconPath = vscode.Uri.joinPath(services.extensionUri, 'extension', 'media', 'drover.svg');
    panel.webview.html = webviewHtml({
      title: `Drover: ${jobId}`,
      cspSource: panel.webview.cspSource,
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(assets, 'dashboard.js')).toString(),
      styleUris: [panel.webview.asWebviewUri(vscode.Uri.joinPath(assets, 'dashboard.css')).toString()],
    });
    // An update held back by the throttle may come due after the panel was hidden: dropped then.
    this.progressUpdates = new LatestThrottle(progressIntervalMs, (progress) => {
      if (this.live) this.post({ type: 'progress', progress });
    });
    this.subscriptions.push(
      panel.webview.onDidReceiveMessage((message: unknown) => void this.receive(message)),
      // A hidden webview is torn down (its context is not retained): nothing goes to it, and
      // once it shows again it gets a complete snapshot, never the deltas it missed.
      panel.onDidChangeViewState(() => {
        if (!panel.visible) this.live = false;
        else if (!this.live) void this.sendSnapshot().catch((error: unknown) => this.services.logs.warn(`dashboard ${jobId}: ${String(error)}`));
      }),
      services.model.onDidChangeJob((changed) => {
        if (changed === jobId) this.jobChanged();
      }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  reveal(): void {
    this.panel.reveal();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.progressUpdates.dispose();
    for (const subscription of this.subscriptions) subscription.dispose();
    this.panel.dispose();
    this.onDispose();
  }

  private async receive(raw: unknown): Promise<void> {
    const parsed = dashboardToExtensionSchema.safeParse(raw);
    if (!parsed.success) {
      this.services.logs.warn(`dashboard ${this.jobId}: ignored an invalid message from the webview: ${parsed.error.message}`);
      return;
    }
    const message = parsed.data;
    if (message.type !== 'ready' && message.jobId !== this.jobId) {
      this.services.logs.warn(`dashboard ${this.jobId}: ignored "${message.type}" for job ${message.jobId}`);
      return;
    }
    try {
      await this.handle(message);
    } catch (error) {
      void this.services.reporter.report(`Drover dashboard (${this.jobId})`, error, { jobId: this.jobId });
    }
  }

  private async handle(message: DashboardToExtension): Promise<void> {
    const { launcher } = this.services;
    switch (message.type) {
      case 'ready':
        await this.sendSnapshot();
        return;
      case 'pause':
        await launcher.pause(this.jobId);
        return;
      case 'resume':
        await launcher.resume(this.jobId);
        return;
      case 'cancel':
        await vscode.commands.executeCommand('drover.cancelJob', this.jobId);
        return;
      case 'openResults':
        await vscode.commands.executeCommand('drover.exportResults', this.jobId);
        return;
      case 'setApiKey':
        await vscode.commands.executeCommand('drover.setApiKey', await this.services.baseUrlOf(this.jobId));
        return;
      case 'showLogs':
        this.services.logs.show();
        return;
      case 'requestResults':
        this.page = { offset: message.offset, limit: message.limit };
        this.post({ type: 'results', page: await this.resultsPage() });
        return;
    }
  }

  private jobChanged(): void {
    if (!this.panel.visible || !this.live) return;
    const entry = this.services.model.get(this.jobId);
    if (!entry) return;
    if (entry.progress) this.progressUpdates.offer(entry.progress);
    if (entry.errors !== this.lastErrors) {
      this.lastErrors = entry.errors;
      this.post({ type: 'errors', errors: entry.errors });
    }
    const finished = !entry.info.active;
    if (finished || Date.now() - this.lastResultsAt >= resultsRefreshMs) {
      this.lastResultsAt = Date.now();
      void this.resultsPage().then(
        (page) => {
          if (this.live) this.post({ type: 'results', page });
        },
        (error: unknown) => this.services.logs.warn(`dashboard ${this.jobId}: cannot read results: ${String(error)}`),
      );
    }
  }

  private async resultsPage(): Promise<ResultsPage> {
    const client = await this.services.connection.client();
    try {
      const { rows, total } = await client.call('results.page', { jobId: this.jobId, ...this.page });
      return { ...this.page, total, rows };
    } catch (error) {
      // A job that has just started has no ledger for a moment: no results yet, not a failure.
      if (error instanceof DaemonRpcError && error.code === rpcErrorCode.jobNotFound && this.services.model.get(this.jobId)?.info.active) {
        return { ...this.page, total: 0, rows: [] };
      }
      throw error;
    }
  }

  private async sendSnapshot(): Promise<void> {
    const { connection, model, estimates } = this.services;
    const client = await connection.client();
    let detail: RpcResult<'job.get'>;
    try {
      detail = await client.call('job.get', { jobId: this.jobId });
    } catch (error) {
      if (!(error instanceof DaemonRpcError) || error.code !== rpcErrorCode.jobNotFound) throw error;
      // Restored after a reload, or left open, for a job deleted meanwhile.
      this.dispose();
      void vscode.window.showInformationMessage(`Drover: closed the dashboard of ${this.jobId}, which no longer exists.`);
      return;
    }
    const results = await this.resultsPage();
    this.lastResultsAt = Date.now();
    const entry = model.get(this.jobId);
    const spec = summarizeSpec(detail.spec, this.services.workspaceRoot());
    const progress = detail.progress ?? entry?.progress ?? this.restingProgress(detail.info, spec.budgetUsd);
    const snapshot: DashboardSnapshot = {
      type: 'snapshot',
      jobId: this.jobId,
      name: this.jobId,
      spec,
      progress,
      errors: detail.errors,
      results,
      estimate: estimates.get(this.jobId),
      history: entry?.history ?? [],
    };
    this.lastErrors = entry?.errors ?? null;
    this.post(snapshot);
    this.live = this.panel.visible;
  }

  private restingProgress(info: JobInfo, budgetUsd: number | null): JobProgress {
    const failed = displayState(info, null) === 'failed';
    return progressAtRest(info, failed ? 'error' : null, budgetUsd);
  }

  private post(message: ExtensionToDashboard): void {
    if (this.disposed) return;
    const checked = extensionToDashboardSchema.safeParse(message);
    if (!checked.success) {
      // The extension's own mistake: log it rather than send what the webview would drop.
      this.services.logs.error(`dashboard ${this.jobId}: refused to send an invalid "${message.type}" message: ${checked.error.message}`);
      return;
    }
    void this.panel.webview.postMessage(checked.data);
    this.services.onDidPost(this.jobId, message.type);
  }
}
