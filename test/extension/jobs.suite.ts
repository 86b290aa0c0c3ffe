// A job file run from the extension against the mock LLM (real HTTP, in this process):
// the daemon starts on first use, the Jobs tree fills and the job completes; a dashboard
// comes back through the serializer; an API key set with "Set API Key" reaches the daemon
// and nothing else. Runs after activation.suite (files run in name order).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { startMockLlm, type MockLlmServer } from '../../daemon/mockLlm/server';
import type { JobsTreeElement } from '../../extension/jobs/jobsTreeDataProvider';
import { filesContaining } from '../support/fileSearch';
import { droverApi, droverHome, waitFor, workspaceRoot } from './suiteSupport';

const reviews = [
  'Great product, works perfectly and arrived early.',
  'Terrible support, I want a refund.',
  'It is fine. Nothing special.',
  'Love it, would buy again!',
  'Broken on arrival, very disappointed.',
];
const recordCount = 120;

async function writeSpec(name: string, spec: Record<string, unknown>): Promise<vscode.Uri> {
  const path = join(workspaceRoot(), `${name}.drover.json`);
  await writeFile(path, `${JSON.stringify(spec, null, 2)}\n`);
  return vscode.Uri.file(path);
}

function treeItemFor(api: Awaited<ReturnType<typeof droverApi>>, jobId: string): vscode.TreeItem | undefined {
  const element = api.jobsTree.getChildren().find((candidate) => candidate.jobId === jobId);
  return element && api.jobsTree.getTreeItem(element);
}

describe('Drover jobs in the extension host', () => {
  let mock: MockLlmServer;

  before(async () => {
    // Some 500s, retried by the engine, so the job has error classes to show.
    mock = await startMockLlm({ latencyMs: 10, fail500: 0.15, seed: 11 });
    const lines = Array.from({ length: recordCount }, (_, index) => JSON.stringify({ id: index + 1, text: reviews[index % reviews.length] }));
    await writeFile(join(workspaceRoot(), 'reviews.jsonl'), `${lines.join('\n')}\n`);
  });

  after(async () => {
    await mock?.close();
  });

  it('runs a job file against the mock LLM: the daemon starts, the tree fills, the job completes', async () => {
    const api = await droverApi();
    const spec = await writeSpec('reviews', {
      name: 'reviews-sentiment',
      source: { type: 'file', path: 'reviews.jsonl', key: 'id' },
      prompt: { template: '{{text}}' },
      model: 'gpt-4.1-mini',
      provider: { baseUrl: mock.url },
      batching: { recordsPerRequest: 10 },
      limits: { concurrency: 4 },
      retry: { maxAttempts: 10, baseDelayMs: 10, maxDelayMs: 50 },
    });
    const jobId = await vscode.commands.executeCommand<string | undefined>('drover.runJobFile', spec);
    assert.equal(jobId, 'reviews-sentiment');
    assert.equal(api.connection.state, 'running');
    const discovery = JSON.parse(readFileSync(join(droverHome(), 'daemon.json'), 'utf8')) as { pid: number };
    assert.equal(api.connection.daemon?.pid, discovery.pid);

    await waitFor('the job to finish', () => api.model.get('reviews-sentiment')?.info.status === 'done', 60_000);
    const item = await waitFor('the tree item to show every record', () => {
      const candidate = treeItemFor(api, 'reviews-sentiment');
      return typeof candidate?.description === 'string' && candidate.description.startsWith(`${recordCount} / ${recordCount} · `) ? candidate : undefined;
    });
    assert.equal(item.id, 'reviews-sentiment');
    assert.match(String(item.description), /^120 \/ 120 · \$\d/);
    assert.equal((item.iconPath as vscode.ThemeIcon).id, 'pass');
    assert.match(String(item.contextValue), /\bdeletable\b/);
    assert.doesNotMatch(String(item.contextValue), /\bpausable\b/);

    // Children: the retried 500s by class, and stats.
    const job = api.jobsTree.getChildren().find((element) => element.jobId === 'reviews-sentiment') as JobsTreeElement;
    const groups = await waitFor('the error classes to be read', () => {
      const children = api.jobsTree.getChildren(job);
      return children.some((child) => child.kind === 'errors') ? children : undefined;
    });
    assert.deepEqual(groups.map((child) => child.kind), ['errors', 'stats']);
    const errorClasses = api.jobsTree.getChildren(groups[0]).map((child) => api.jobsTree.getTreeItem(child).label);
    assert.ok(errorClasses.length > 0, 'the retried 500s should show as an error class');
    const stats = api.jobsTree.getChildren(groups[1]).map((child) => api.jobsTree.getTreeItem(child));
    assert.equal(stats.find((stat) => stat.label === 'Records')?.description, '120 done, 0 failed');

    // The daemon's own log lines reach the "Drover" channel.
    await vscode.commands.executeCommand('drover.showLogs');
    const channel = await waitFor('the Drover output channel', () =>
      vscode.workspace.textDocuments.find((document) => document.uri.scheme === 'output' && document.uri.path.includes('Drover')),
    );
    await waitFor('the daemon\'s "job started" line in the channel', () => /\[daemon\] job started .*job=reviews-sentiment/.test(channel.getText()));

    // Estimate Cost prices the same file before (or after) a run.
    const estimated = await vscode.commands.executeCommand<{ estimate: { records: { total: number }; models: { model: string; chosen: boolean }[] } }>('drover.estimateCost', spec);
    assert.equal(estimated.estimate.records.total, recordCount);
    assert.equal(estimated.estimate.models.find((model) => model.chosen)?.model, 'gpt-4.1-mini');

    // Preview Records on the spec renders its first records with its own template.
    await vscode.commands.executeCommand('drover.previewRecords', spec);
    await waitFor('the preview of the spec', () => api.preview.postedTypes.includes('preview') && api.preview.postedTypes.includes('parseErrors'));
    api.preview.dispose();

    // Export Results writes every answer.
    const out = vscode.Uri.file(join(workspaceRoot(), 'reviews.results.jsonl'));
    const exported = await vscode.commands.executeCommand<{ written: number }>('drover.exportResults', 'reviews-sentiment', out);
    assert.equal(exported.written, recordCount);
    const rows = readFileSync(out.fsPath, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { key: string; status: string; output: { sentiment: string } });
    assert.equal(rows.length, recordCount);
    assert.deepEqual(new Set(rows.map((row) => row.status)), new Set(['done']));
    assert.ok(rows.every((row) => ['positive', 'negative', 'neutral'].includes(row.output.sentiment)));
  });

  it('validates *.drover.json files against the job schema, comments allowed', async () => {
    const uri = vscode.Uri.file(join(workspaceRoot(), 'typo.drover.json'));
    const text = ['{', '  // which reviews: all of them', '  "name": "typo",', '  "source": { "type": "sqlite", "path": "x.db", "table": "t" },', '  "prompt": { "template": "{{text}}" },', '  "modle": "gpt-4.1"', '}', ''];
    await writeFile(uri.fsPath, text.join('\n'));
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document);
    assert.equal(document.languageId, 'jsonc');
    const diagnostics = await waitFor('the JSON language server to report the unknown property', () => {
      const found = vscode.languages.getDiagnostics(uri);
      return found.some((diagnostic) => diagnostic.message.includes('modle')) ? found : undefined;
    });
    assert.equal(diagnostics.length, 1, diagnostics.map((diagnostic) => diagnostic.message).join('\n'));
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  it('restores a dashboard through the WebviewPanelSerializer, with a snapshot after the webview is ready', async () => {
    const api = await droverApi();
    api.dashboards.get('reviews-sentiment')?.dispose();
    const panel = vscode.window.createWebviewPanel('drover.dashboard', 'restoring', vscode.ViewColumn.One, { enableScripts: true });
    const snapshot = new Promise<void>((resolve) => {
      const subscription = api.dashboards.onDidPost(({ jobId, type }) => {
        if (jobId !== 'reviews-sentiment' || type !== 'snapshot') return;
        subscription.dispose();
        resolve();
      });
    });
    await api.dashboards.deserializeWebviewPanel(panel, { jobId: 'reviews-sentiment', history: [] });
    assert.equal(api.dashboards.get('reviews-sentiment')?.panel, panel);
    assert.equal(panel.title, 'Drover: reviews-sentiment');
    const html = panel.webview.html.replaceAll('&#39;', "'");
    assert.match(html, /connect-src 'none'/);
    assert.match(html, /script-src 'nonce-[\w-]{40,}'/);
    await waitFor('the restored webview to say ready and get its snapshot', () => snapshot.then(() => true), 30_000);

    // State without a job (saved before the webview knew one) closes the panel instead.
    const empty = vscode.window.createWebviewPanel('drover.dashboard', 'empty', vscode.ViewColumn.One, {});
    let closed = false;
    empty.onDidDispose(() => (closed = true));
    await api.dashboards.deserializeWebviewPanel(empty, { history: [] });
    assert.equal(closed, true);
    api.dashboards.get('reviews-sentiment')?.dispose();
  });

  it('sends a dashboard at most 10 progress updates a second, none while hidden, and a snapshot when shown again', async () => {
    const api = await droverApi();
    const slow = await startMockLlm({ latencyMs: 120 });
    const posts: { type: string; at: number }[] = [];
    const subscription = api.dashboards.onDidPost(({ jobId, type }) => {
      if (jobId === 'watched') posts.push({ type, at: Date.now() });
    });
    try {
      const spec = await writeSpec('watched', {
        name: 'watched',
        source: { type: 'file', path: 'reviews.jsonl', key: 'id' },
        prompt: { template: '{{text}}' },
        provider: { baseUrl: slow.url },
        batching: { recordsPerRequest: 2 },
        limits: { concurrency: 2 },
        cache: false,
      });
      // Run Job File opens the job's dashboard.
      await vscode.commands.executeCommand('drover.runJobFile', spec);
      await waitFor('the dashboard\'s first snapshot and progress', () => posts.some((post) => post.type === 'snapshot') && posts.filter((post) => post.type === 'progress').length >= 5);
      const progress = posts.filter((post) => post.type === 'progress').map((post) => post.at);
      for (let index = 10; index < progress.length; index += 1) {
        assert.ok(progress[index] - progress[index - 10] >= 950, `11 progress messages within ${progress[index] - progress[index - 10]} ms`);
      }

      // Another editor over it in the same group hides it: nothing is sent meanwhile.
      const panel = api.dashboards.get('watched')?.panel;
      assert.ok(panel?.visible);
      await vscode.window.showTextDocument(spec, { viewColumn: panel.viewColumn, preview: false });
      await waitFor('the dashboard to be hidden', () => !panel.visible);
      const hiddenAt = posts.length;
      await waitFor('the job to report more progress', () => (api.model.get('watched')?.info.records.done ?? 0) >= 30);
      assert.deepEqual(posts.slice(hiddenAt).map((post) => post.type), []);

      panel.reveal();
      await waitFor('a snapshot once shown again', () => posts.slice(hiddenAt).some((post) => post.type === 'snapshot'));
      assert.equal(posts[hiddenAt]?.type, 'snapshot', 'the first message after showing again is a complete snapshot');
      await vscode.commands.executeCommand('drover.pauseJob', 'watched');
    } finally {
      subscription.dispose();
      await slow.close();
    }
  });

  it('sends the key from "Set API Key" to the daemon, and keeps it out of settings and $DROVER_HOME', async () => {
    const api = await droverApi();
    const secret = process.env.DROVER_TEST_SECRET ?? 'sk-drover-suite-secret-4f1c9a';
    const keyed = await startMockLlm({ apiKey: secret, latencyMs: 5 });
    try {
      const spec = await writeSpec('keyed', {
        name: 'keyed-sentiment',
        source: { type: 'file', path: 'reviews.jsonl', key: 'id' },
        prompt: { template: '{{text}}' },
        provider: { baseUrl: keyed.url },
        batching: { recordsPerRequest: 20 },
      });
      // Without the key the provider answers 401: the job stops at once with the reason.
      await vscode.commands.executeCommand('drover.runJobFile', spec);
      await waitFor('the job to stop on the missing key', () => {
        const entry = api.model.get('keyed-sentiment');
        return entry?.info.status === 'paused' && !entry.info.active ? entry : undefined;
      });
      const stopped = await waitFor('the tree to show it stopped on an error', () => {
        const item = treeItemFor(api, 'keyed-sentiment');
        return item && (item.iconPath as vscode.ThemeIcon).id === 'error' ? item : undefined;
      });
      assert.match(String(stopped.contextValue), /\bresumable\b/);

      assert.equal(await vscode.commands.executeCommand('drover.setApiKey', { baseUrl: keyed.url, apiKey: secret }), true);
      await vscode.commands.executeCommand('drover.resumeJob', 'keyed-sentiment');
      await waitFor('the job to finish with the key', () => api.model.get('keyed-sentiment')?.info.status === 'done', 60_000);
      assert.equal(api.model.get('keyed-sentiment')?.info.records.done, recordCount);

      const settingsText = JSON.stringify(vscode.workspace.getConfiguration('drover'));
      assert.equal(settingsText.includes(secret), false, 'the key is in the drover.* settings');
      assert.deepEqual(filesContaining(droverHome(), secret), []);
      assert.deepEqual(filesContaining(workspaceRoot(), secret), []);
    } finally {
      await vscode.commands.executeCommand('drover.clearApiKey', { baseUrl: keyed.url });
      await keyed.close();
    }
  });
});
