// The status-bar item: the daemon's state while it is not simply running, otherwise the
// running jobs' combined progress and cost. Clicking it opens the Jobs view, or the logs
// when the daemon could not be kept alive.
import * as vscode from 'vscode';
import { formatUsd } from '../../webview/shared/format';
import type { DaemonConnection, DaemonState } from '../daemon/daemonConnection';
import { throttle } from '../../webview/shared/throttle';
import type { JobsModel } from './jobsModel';

const daemonText: Record<Exclude<DaemonState, 'running'>, { icon: string; text: string }> = {
  stopped: { icon: 'circle-outline', text: 'Drover' },
  starting: { icon: 'loading~spin', text: 'Drover: starting daemon' },
  reconnecting: { icon: 'sync~spin', text: 'Drover: reconnecting' },
  failed: { icon: 'error', text: 'Drover: daemon stopped' },
};

export class JobsStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('drover.status', vscode.StatusBarAlignment.Left, 10);
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly connection: DaemonConnection,
    private readonly model: JobsModel,
  ) {
    this.item.name = 'Drover';
    const update = throttle(() => this.update(), 500);
    this.subscriptions.push(
      this.item,
      connection.onDidChangeState(() => update()),
      model.onDidChangeJob(() => update()),
      model.onDidChangeJobs(() => update()),
    );
    this.update();
    this.item.show();
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
  }

  private update(): void {
    const state = this.connection.state;
    if (state !== 'running') {
      const { icon, text } = daemonText[state];
      this.item.text = `$(${icon}) ${text}`;
      this.item.tooltip = state === 'stopped' ? 'Drover: no daemon connection yet' : `Drover daemon: ${state}`;
      this.item.command = state === 'failed' ? 'drover.showLogs' : 'drover.jobs.focus';
      this.item.backgroundColor = state === 'failed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
      return;
    }
    this.item.backgroundColor = undefined;
    this.item.command = 'drover.jobs.focus';
    const running = this.model.jobs().filter((entry) => entry.info.active);
    const daemon = this.connection.daemon;
    const daemonLine = daemon ? `Daemon pid ${daemon.pid}, port ${daemon.port}, version ${daemon.version}` : 'Daemon running';
    if (running.length === 0) {
      this.item.text = '$(check) Drover';
      this.item.tooltip = `${daemonLine}\nNo job is running`;
      return;
    }
    let processed = 0;
    let total = 0;
    let knownTotals = true;
    let cost = 0;
    for (const { info } of running) {
      processed += info.records.done + info.records.failed;
      if (info.records.total === null) knownTotals = false;
      else total += info.records.total;
      cost += info.costUsd;
    }
    const percent = knownTotals && total > 0 ? ` ${Math.floor((processed / total) * 100)}%` : '';
    const jobs = running.length === 1 ? running[0].info.jobId : `${running.length} jobs`;
    this.item.text = `$(loading~spin) Drover: ${jobs}${percent} · ${formatUsd(cost)}`;
    this.item.tooltip = `${daemonLine}\n${running.map(({ info }) => `${info.jobId}: ${info.records.done + info.records.failed} / ${info.records.total ?? '?'} · ${formatUsd(info.costUsd)}`).join('\n')}`;
  }
}
