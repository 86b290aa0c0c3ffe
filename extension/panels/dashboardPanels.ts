// The dashboards: at most one panel per job (createOrShow), and the serializer that brings
// them back after a window reload from the state the webview saved ({ jobId, history }).
import * as vscode from 'vscode';
import { z } from 'zod';
import type { ExtensionToDashboard } from '../../webview/protocol/dashboardMessages';
import { Listeners } from '../shared/listeners';
import { DashboardPanel, dashboardViewType } from './dashboardPanel';
import type { DashboardServices } from './dashboardServices';

const savedStateSchema = z.object({ jobId: z.string().min(1) }).loose();

export class DashboardPanels implements vscode.WebviewPanelSerializer, vscode.Disposable {
  private readonly panels = new Map<string, DashboardPanel>();
  private readonly posts = new Listeners<{ jobId: string; type: ExtensionToDashboard['type'] }>();
  /** A message went to the dashboard of a job: a snapshot, progress, errors or results. */
  readonly onDidPost = this.posts.event;
  private readonly services: DashboardServices;

  constructor(services: Omit<DashboardServices, 'onDidPost'>) {
    this.services = { ...services, onDidPost: (jobId, type) => this.posts.fire({ jobId, type }) };
  }

  show(jobId: string): DashboardPanel {
    const open = this.panels.get(jobId);
    if (open) {
      open.reveal();
      return open;
    }
    const panel = vscode.window.createWebviewPanel(dashboardViewType, dashboardTitle(jobId), vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.services.extensionUri, 'dist', 'webview')],
    });
    return this.adopt(panel, jobId);
  }

  get(jobId: string): DashboardPanel | undefined {
    return this.panels.get(jobId);
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const saved = savedStateSchema.safeParse(state);
    if (!saved.success) {
      // Saved before the webview knew its job: nothing to restore.
      this.services.logs.warn('closed a Drover dashboard restored without a job to show');
      panel.dispose();
      return;
    }
    const jobId = saved.data.jobId;
    const existing = this.panels.get(jobId);
    if (existing) {
      panel.dispose();
      existing.reveal();
      return;
    }
    panel.title = dashboardTitle(jobId);
    this.adopt(panel, jobId);
  }

  dispose(): void {
    for (const panel of [...this.panels.values()]) panel.dispose();
    this.posts.dispose();
  }

  private adopt(panel: vscode.WebviewPanel, jobId: string): DashboardPanel {
    const dashboard = new DashboardPanel(panel, jobId, this.services, () => this.panels.delete(jobId));
    this.panels.set(jobId, dashboard);
    return dashboard;
  }
}

function dashboardTitle(jobId: string): string {
  return `Drover: ${jobId}`;
}
