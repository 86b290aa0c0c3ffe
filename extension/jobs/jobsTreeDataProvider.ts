// The Jobs view: one item per job (id-stable, so VS Code keeps selection and expansion as
// numbers change), with its error classes and stats as children. A change refreshes only
// the job it concerns, and changes are batched so a job reporting 10 times a second costs
// the view at most a few repaints a second.
import * as vscode from 'vscode';
import { throttle, type Throttled } from '../../webview/shared/throttle';
import { displayState, jobContextValue, jobDescription, jobStats, stateIcon, stateLabel } from './jobPresentation';
import type { JobEntry, JobsModel } from './jobsModel';

export type JobsTreeElement =
  | { kind: 'job'; jobId: string }
  | { kind: 'errors'; jobId: string }
  | { kind: 'error'; jobId: string; errorClass: string }
  | { kind: 'stats'; jobId: string }
  | { kind: 'stat'; jobId: string; statId: string };

const refreshIntervalMs = 250;

const stateColor: Partial<Record<ReturnType<typeof displayState>, string>> = {
  failed: 'errorForeground',
  doneWithFailures: 'editorWarning.foreground',
  done: 'testing.iconPassed',
};

export class JobsTreeDataProvider implements vscode.TreeDataProvider<JobsTreeElement>, vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<JobsTreeElement | undefined>();
  readonly onDidChangeTreeData = this.changes.event;
  /** The same object for the same id: VS Code matches refreshed elements by identity. */
  private readonly elements = new Map<string, JobsTreeElement>();
  private readonly dirtyJobs = new Set<string>();
  private readonly flush: Throttled;
  private readonly subscriptions: vscode.Disposable[] = [];
  private loading = false;

  constructor(
    private readonly model: JobsModel,
    /** Whether opening the view may attach to (or start) the daemon: only when there is something to show. */
    private readonly shouldLoad: () => boolean,
    private readonly onLoadFailed: (error: unknown) => void,
  ) {
    this.flush = throttle(() => this.fireDirty(), refreshIntervalMs);
    this.subscriptions.push(
      model.onDidChangeJob((jobId) => {
        this.dirtyJobs.add(jobId);
        this.flush();
      }),
      model.onDidChangeJobs(() => {
        this.dirtyJobs.clear();
        for (const [id, element] of this.elements) if (!model.get(element.jobId)) this.elements.delete(id);
        this.changes.fire(undefined);
      }),
    );
  }

  getTreeItem(element: JobsTreeElement): vscode.TreeItem {
    const entry = this.model.get(element.jobId);
    if (!entry) return new vscode.TreeItem(element.jobId);
    switch (element.kind) {
      case 'job':
        return this.jobItem(entry);
      case 'errors': {
        const item = new vscode.TreeItem('Errors', vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `${element.jobId}/errors`;
        item.description = entry.errors.reduce((sum, error) => sum + error.count, 0).toLocaleString('en-US');
        item.iconPath = new vscode.ThemeIcon('warning');
        return item;
      }
      case 'error': {
        const error = entry.errors.find((candidate) => candidate.errorClass === element.errorClass);
        const item = new vscode.TreeItem(element.errorClass);
        item.id = `${element.jobId}/errors/${element.errorClass}`;
        if (error) {
          item.description = `${error.count.toLocaleString('en-US')} · ${error.sampleMessage}`;
          item.tooltip = new vscode.MarkdownString().appendText(
            `${error.count} × ${error.errorClass}${error.sampleKey === null ? '' : ` (e.g. record ${error.sampleKey})`}\n\n${error.sampleMessage}`,
          );
        }
        item.iconPath = new vscode.ThemeIcon('circle-small-filled');
        return item;
      }
      case 'stats': {
        const item = new vscode.TreeItem('Stats', vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `${element.jobId}/stats`;
        item.iconPath = new vscode.ThemeIcon('graph');
        return item;
      }
      case 'stat': {
        const stat = jobStats(entry.info, entry.progress).find((candidate) => candidate.id === element.statId);
        const item = new vscode.TreeItem(stat?.label ?? element.statId);
        item.id = `${element.jobId}/stats/${element.statId}`;
        item.description = stat?.value;
        return item;
      }
    }
  }

  getChildren(element?: JobsTreeElement): JobsTreeElement[] {
    if (!element) {
      if (!this.model.isLoaded) this.loadInBackground();
      return this.model.jobs().map((entry) => this.element({ kind: 'job', jobId: entry.info.jobId }));
    }
    const entry = this.model.get(element.jobId);
    if (!entry) return [];
    switch (element.kind) {
      case 'job':
        return [
          ...(entry.errors.length > 0 ? [this.element({ kind: 'errors', jobId: element.jobId })] : []),
          this.element({ kind: 'stats', jobId: element.jobId }),
        ];
      case 'errors':
        return entry.errors.map((error) => this.element({ kind: 'error', jobId: element.jobId, errorClass: error.errorClass }));
      case 'stats':
        return jobStats(entry.info, entry.progress).map((stat) => this.element({ kind: 'stat', jobId: element.jobId, statId: stat.id }));
      default:
        return [];
    }
  }

  getParent(element: JobsTreeElement): JobsTreeElement | undefined {
    switch (element.kind) {
      case 'job':
        return undefined;
      case 'errors':
      case 'stats':
        return this.element({ kind: 'job', jobId: element.jobId });
      case 'error':
        return this.element({ kind: 'errors', jobId: element.jobId });
      case 'stat':
        return this.element({ kind: 'stats', jobId: element.jobId });
    }
  }

  /** The job's element, for reveal(). */
  jobElement(jobId: string): JobsTreeElement {
    return this.element({ kind: 'job', jobId });
  }

  dispose(): void {
    this.flush.flush();
    for (const subscription of this.subscriptions) subscription.dispose();
    this.changes.dispose();
  }

  private jobItem(entry: JobEntry): vscode.TreeItem {
    const { info, progress } = entry;
    const state = displayState(info, progress);
    const item = new vscode.TreeItem(info.jobId, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = info.jobId;
    item.description = jobDescription(info, progress);
    const color = stateColor[state];
    item.iconPath = new vscode.ThemeIcon(stateIcon[state], color ? new vscode.ThemeColor(color) : undefined);
    item.contextValue = jobContextValue(state);
    const tooltip = new vscode.MarkdownString(undefined, true);
    tooltip.appendMarkdown(`**${info.jobId}** — ${stateLabel[state]}\n\n`);
    if (info.statusReason) tooltip.appendText(`${info.statusReason}\n\n`);
    for (const stat of jobStats(info, progress)) tooltip.appendMarkdown(`${stat.label}: `).appendText(`${stat.value}\n\n`);
    item.tooltip = tooltip;
    item.command = { command: 'drover.openDashboard', title: 'Open Dashboard', arguments: [info.jobId] };
    return item;
  }

  private element<T extends JobsTreeElement>(element: T): T {
    const id = Object.values(element).join('\u0000');
    const known = this.elements.get(id);
    if (known) return known as T;
    this.elements.set(id, element);
    return element;
  }

  private fireDirty(): void {
    const jobIds = [...this.dirtyJobs];
    this.dirtyJobs.clear();
    for (const jobId of jobIds) {
      if (this.model.get(jobId)) this.changes.fire(this.element({ kind: 'job', jobId }));
    }
  }

  private loadInBackground(): void {
    if (this.loading || !this.shouldLoad()) return;
    this.loading = true;
    this.model.load().then(
      () => (this.loading = false),
      (error: unknown) => {
        this.loading = false;
        this.onLoadFailed(error);
      },
    );
  }
}
