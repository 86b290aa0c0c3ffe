// The record preview panel: the host side of webview/preview. After `ready` it renders the
// request's first records through the daemon (source.preview), with totals from an
// estimate where the source is small, and the parse errors by editor line; it re-renders
// with an edited template, and runs the task on just these records on request. One panel,
// reused for each new preview. Every message is checked in both directions.
import * as vscode from 'vscode';
import type { PreviewRecord } from '../../daemon/protocol/estimate';
import {
  type ExtensionToPreview,
  extensionToPreviewSchema,
  type ParseError,
  type PreviewToExtension,
  previewToExtensionSchema,
} from '../../webview/protocol/previewMessages';
import { defaultSystemPrompt, jobSpecSchema } from '../../daemon/spec/jobSpec';
import type { ErrorReporter } from '../commands/errorReporter';
import type { DaemonConnection } from '../daemon/daemonConnection';
import { requireTrust, type JobLauncher } from '../jobs/jobLauncher';
import type { ApiKeyStore } from '../secrets/apiKeyStore';
import { endpointBaseUrls } from '../specs/jobSpecFile';
import { chosenModel } from '../specs/estimateText';
import { webviewHtml } from '../webview/webviewHtml';
import { runPreviewRecords } from './previewRun';
import type { PreviewRequest } from './previewRequest';
import { defaultTemplate, keyField, recordFields } from './previewTemplate';

export const previewViewType = 'drover.preview';

export interface PreviewServices {
  extensionUri: vscode.Uri;
  connection: DaemonConnection;
  launcher: JobLauncher;
  keys: ApiKeyStore;
  reporter: ErrorReporter;
  logs: vscode.LogOutputChannel;
  recordLimit(): number;
}

/** The spec's model, or the one a spec without one gets. */
function modelOf(request: PreviewRequest): string {
  const model = jobSpecSchema.shape.model;
  return model.safeParse(request.spec.input.model).data ?? model.parse(undefined);
}

/** A malformed line comes back with no fields and no rendered input. */
function isParseError(record: PreviewRecord): boolean {
  return record.input === null && record.line !== null && Object.keys(record.fields).length === 0 && record.error !== null;
}

export class PreviewPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | null = null;
  private request: PreviewRequest | null = null;
  private records: PreviewRecord[] = [];
  private ready = false;
  private running = false;
  private readonly posted: ExtensionToPreview['type'][] = [];

  constructor(private readonly services: PreviewServices) {}

  /** What went to the webview, in order (the log and the tests read it). */
  get postedTypes(): readonly string[] {
    return this.posted;
  }

  async show(request: PreviewRequest): Promise<void> {
    await this.request?.dispose();
    this.request = request;
    this.records = [];
    if (this.panel) {
      this.panel.title = `Preview: ${request.label}`;
      this.panel.reveal();
      if (this.ready) await this.render();
      return;
    }
    const assets = vscode.Uri.joinPath(this.services.extensionUri, 'dist', 'webview');
    const panel = vscode.window.createWebviewPanel(previewViewType, `Preview: ${request.label}`, vscode.ViewColumn.Beside, {
      enableScripts: true,
      localResourceRoots: [assets],
    });
    panel.iconPath = vscode.Uri.joinPath(this.services.extensionUri, 'extension', 'media', 'drover.svg');
    panel.webview.html = webviewHtml({
      title: 'Drover record preview',
      cspSource: panel.webview.cspSource,
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(assets, 'preview.js')).toString(),
      styleUris: [panel.webview.asWebviewUri(vscode.Uri.joinPath(assets, 'preview.css')).toString()],
    });
    panel.webview.onDidReceiveMessage((message: unknown) => void this.receive(message));
    panel.onDidDispose(() => {
      this.panel = null;
      this.ready = false;
      void this.request?.dispose();
      this.request = null;
    });
    this.panel = panel;
  }

  dispose(): void {
    this.panel?.dispose();
  }

  private async receive(raw: unknown): Promise<void> {
    const parsed = previewToExtensionSchema.safeParse(raw);
    if (!parsed.success) {
      this.services.logs.warn(`record preview: ignored an invalid message from the webview: ${parsed.error.message}`);
      return;
    }
    try {
      await this.handle(parsed.data);
    } catch (error) {
      // The webview shows the run or the re-render as under way until told otherwise.
      if (parsed.data.type !== 'ready') this.post({ type: 'runStatus', state: 'failed', message: error instanceof Error ? error.message : String(error) });
      void this.services.reporter.report('Drover preview', error, { baseUrl: this.primaryBaseUrl() });
    }
  }

  private async handle(message: PreviewToExtension): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        await this.render();
        return;
      case 'changeTemplate':
        if (!this.request) return;
        this.request.spec.input = { ...this.request.spec.input, prompt: { ...this.promptOf(), template: message.template } };
        await this.render();
        return;
      case 'runOnThese':
        await this.runOn(message.keys);
        return;
    }
  }

  private promptOf(): Record<string, unknown> {
    const prompt = this.request?.spec.input.prompt;
    return typeof prompt === 'object' && prompt !== null ? (prompt as Record<string, unknown>) : {};
  }

  private async render(): Promise<void> {
    const request = this.request;
    if (!request) return;
    const { launcher } = this.services;
    const limit = this.services.recordLimit();
    if (request.chooseTemplate) {
      // A first read for the field names, then the records rendered with the chosen template.
      const fields = recordFields(await launcher.preview(request.spec, limit));
      if (fields.length > 0) {
        const key = keyField(fields);
        const source = request.spec.input.source as Record<string, unknown>;
        request.spec.input = {
          ...request.spec.input,
          source: key ? { ...source, key } : source,
          prompt: { ...this.promptOf(), template: defaultTemplate(fields) },
        };
      }
      request.chooseTemplate = false;
    }
    const records = (await launcher.preview(request.spec, limit)).map((record, index) => ({
      ...record,
      line: record.line === null ? (request.recordLines[index] ?? null) : request.documentLine(record.line),
    }));
    if (this.request !== request) return; // a newer preview replaced this one meanwhile
    this.records = records;
    const totals = request.estimateTotals ? await this.totals(request) : { records: null, inputTokens: null, estimatedCostUsd: null };
    const prompt = this.promptOf();
    this.post({
      type: 'preview',
      source: request.label,
      model: modelOf(request),
      system: typeof prompt.system === 'string' ? prompt.system : defaultSystemPrompt,
      template: typeof prompt.template === 'string' ? prompt.template : '',
      records,
      totals,
    });
    const parseErrors: ParseError[] = [
      ...request.parseErrors,
      ...records.filter(isParseError).map((record) => ({ line: record.line ?? 1, message: record.error ?? 'cannot be read' })),
    ];
    this.post({ type: 'parseErrors', errors: parseErrors });
  }

  private async totals(request: PreviewRequest) {
    try {
      const estimate = await this.services.launcher.estimate(request.spec, { remember: false });
      return { records: estimate.records.total, inputTokens: estimate.tokens.prompt, estimatedCostUsd: chosenModel(estimate)?.costUsd ?? null };
    } catch (error) {
      // The records still show; the totals are a bonus.
      this.services.logs.warn(`record preview: no totals for ${request.label}: ${error instanceof Error ? error.message : String(error)}`);
      return { records: null, inputTokens: null, estimatedCostUsd: null };
    }
  }

  private async runOn(keys: readonly string[]): Promise<void> {
    const request = this.request;
    if (!request || this.running) return;
    requireTrust('run records');
    const wanted = new Set(keys);
    const records = this.records.filter((record) => wanted.has(record.key) && record.input !== null);
    if (records.length === 0) throw new Error('none of the chosen records can be rendered with this template');
    this.running = true;
    try {
      this.post({ type: 'runStatus', state: 'running', message: `Running ${records.length} records through ${modelOf(request)}…` });
      const client = await this.services.connection.client();
      const outcome = await runPreviewRecords({
        client,
        spec: request.spec.input,
        baseDir: request.spec.baseDir,
        records,
        secrets: await this.services.keys.forEndpoints(endpointBaseUrls(request.spec.input)),
        onAnswers: (answers) => this.post({ type: 'answers', answers }),
      });
      this.post({ type: 'runStatus', state: outcome.state, message: outcome.message });
      if (outcome.state === 'failed') {
        void this.services.reporter.report('Run on these records', new Error(outcome.message), { baseUrl: this.primaryBaseUrl() });
      }
    } finally {
      this.running = false;
    }
  }

  private primaryBaseUrl(): string | undefined {
    return this.request ? endpointBaseUrls(this.request.spec.input)[0] : undefined;
  }

  private post(message: ExtensionToPreview): void {
    if (!this.panel) return;
    const checked = extensionToPreviewSchema.safeParse(message);
    if (!checked.success) {
      this.services.logs.error(`record preview: refused to send an invalid "${message.type}" message: ${checked.error.message}`);
      return;
    }
    this.posted.push(message.type);
    void this.panel.webview.postMessage(checked.data);
  }
}
