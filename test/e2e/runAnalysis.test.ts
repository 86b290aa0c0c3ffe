// A new user's path in code-server, driven in Chromium: set an API key, run an analysis
// from the palette on a SQLite table, watch the Jobs view and the dashboard to the end,
// export the results, and pause and resume a longer job from the tree. The provider is the
// mock LLM (real HTTP, in this process), which accepts only the key the user set.
// Needs the build (dist/) and scripts/install-code-server.sh.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureDemoDatabase } from '../../daemon/demo/demoDatabase';
import { startMockLlm, type MockLlmServer } from '../../daemon/mockLlm/server';
import { type CodeServer, startCodeServer } from '../support/codeServer';
import { openWorkbench, type Workbench, tearDownWorkbench } from '../support/workbench';

const repoRoot = resolve(__dirname, '..', '..');
const feedbackRows = 300;

async function waitFor(what: string, probe: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('Drover in code-server: from an API key to exported results', () => {
  let scratch: string;
  let workspace: string;
  let home: string;
  let mock: MockLlmServer;
  let server: CodeServer;
  let workbench: Workbench;
  const apiKey = `sk-drover-ui-${randomBytes(8).toString('hex')}`;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'drover-e2e-analysis-'));
    workspace = join(scratch, 'workspace');
    home = join(scratch, 'drover-home');
    await mkdir(workspace);
    ensureDemoDatabase(join(workspace, 'feedback.db'), feedbackRows);
    // Some 500s (retried) so the dashboard's error table has rows; a latency that lets the
    // pause/resume job be caught running.
    mock = await startMockLlm({ apiKey, latencyMs: 40, fail500: 0.08, seed: 5 });
    server = await startCodeServer({
      workspace,
      extensionDevelopmentPath: repoRoot,
      env: { DROVER_HOME: home },
      settings: { 'drover.provider.baseUrl': mock.url, 'drover.defaultModel': 'gpt-4.1-mini', 'drover.limits.concurrency': 4 },
    });
    workbench = await openWorkbench(server.url);
  });

  after(() => tearDownWorkbench({ workbench, home, server, mock, scratch }));

  it('shows the Jobs view\'s welcome with its two first steps before there is any job', async () => {
    await workbench.openActivity('Drover');
    const welcome = workbench.page.locator('.part.sidebar .welcome-view-content');
    await welcome.getByRole('button', { name: 'Run Analysis…' }).waitFor();
    await welcome.getByRole('button', { name: 'Set API Key' }).waitFor();
    // Opening the view with no jobs anywhere starts no daemon.
    assert.equal(existsSync(join(home, 'daemon.json')), false);
    await workbench.screenshot('jobs-welcome');
  });

  it('"Drover: Set API Key" stores the key for the configured provider', async () => {
    await workbench.runCommand('Drover: Set API Key');
    await workbench.quickPick(mock.url);
    await workbench.page.locator('.quick-input-widget input[type="password"]').waitFor();
    await workbench.quickInput('API key for', apiKey);
    await workbench.waitForNotification(`the API key for ${mock.url} is stored`);
    await workbench.screenshot('set-api-key');
    await workbench.runCommand('Notifications: Clear All Notifications');
  });

  it('"Drover: Run Analysis…" on a SQLite table runs a sentiment job to the end', async () => {
    await workbench.runCommand('Drover: Run Analysis…');
    await workbench.quickPick('SQLite file');
    await workbench.quickPick('feedback.db');
    await workbench.quickPick('feedback');
    await workbench.quickPick('id');
    // The fields step preselects the text column; Enter accepts it.
    await workbench.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'text' }).first().waitFor();
    await workbench.quickInput('The fields the model reads');
    await workbench.quickPick('Sentiment');
    // The model step lists models with this job's estimated cost beside each.
    const modelRow = workbench.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'gpt-4.1-mini' }).first();
    await modelRow.waitFor();
    assert.match((await modelRow.textContent()) ?? '', /\$[\d.]+/);
    await workbench.screenshot('run-analysis-models');
    await workbench.quickPick('gpt-4.1-mini');
    await workbench.quickPick('Use these limits');
    await workbench.quickInput('Budget cap in USD', '1');
    await workbench.quickInput('The job name'); // as suggested
    const start = workbench.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Start' }).first();
    await start.waitFor();
    assert.match((await start.textContent()) ?? '', /300 records/);
    await workbench.screenshot('run-analysis-confirm');
    await workbench.quickPick('Start');

    const specPath = join(workspace, 'feedback-sentiment.drover.json');
    await waitFor('the job file to be saved', () => existsSync(specPath));
    const spec = JSON.parse(readFileSync(specPath, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(spec.source, { type: 'sqlite', path: 'feedback.db', table: 'feedback', key: 'id' });
    assert.equal((spec.limits as { budgetUsd: number }).budgetUsd, 1);
    assert.equal(JSON.stringify(spec).includes(apiKey), false);

    await workbench.openActivity('Drover');
    const row = workbench.sideBarRow('feedback-sentiment');
    await row.filter({ hasText: `${feedbackRows} / ${feedbackRows}` }).waitFor({ timeout: 90_000 });
    await row.locator('.codicon-pass').waitFor();
    await workbench.screenshot('jobs-tree-done');
  });

  it('the dashboard shows 100 %, the throughput chart and the errors by class', async () => {
    const frame = workbench.webviewFrame();
    await frame.locator('.progress-percent', { hasText: '100.0%' }).waitFor({ timeout: 30_000 });
    await frame.locator('.progress-count', { hasText: `${feedbackRows} / ${feedbackRows} records` }).waitFor();
    await frame.locator('.rate-chart canvas').first().waitFor();
    const errorRows = frame.locator('.errors-table tbody tr');
    await errorRows.first().waitFor();
    assert.ok((await errorRows.count()) > 0);
    assert.match((await errorRows.first().locator('.error-class').textContent()) ?? '', /\w/);
    await workbench.screenshot('dashboard-done');
    await errorRows.first().scrollIntoViewIfNeeded();
    await workbench.screenshot('dashboard-errors');
  });

  it('exports the results from the job\'s context menu in the Jobs view', async () => {
    const out = join(workspace, 'exported.csv');
    const row = workbench.sideBarRow('feedback-sentiment');
    await row.click({ button: 'right' });
    const menuItem = workbench.page.getByRole('menuitem', { name: 'Export Results' });
    await menuItem.hover();
    await workbench.page.keyboard.press('Enter');
    // code-server's save dialog is a quick input holding a path.
    await workbench.quickInput('Export', out);
    await workbench.waitForNotification(`Exported ${feedbackRows} results of feedback-sentiment`);
    const lines = readFileSync(out, 'utf8').trim().split('\r\n');
    assert.equal(lines.length, feedbackRows + 1);
    assert.match(lines[0], /^key,status,sentiment,score,/);
    await workbench.screenshot('export-results');
    await workbench.runCommand('Notifications: Clear All Notifications');
  });

  it('pauses and resumes a running job from the Jobs view', async () => {
    ensureDemoDatabase(join(workspace, 'big.db'), 1500);
    await writeFile(
      join(workspace, 'slow.drover.json'),
      JSON.stringify(
        {
          name: 'slow-sentiment',
          source: { type: 'sqlite', path: 'big.db', table: 'feedback', key: 'id' },
          prompt: { template: '{{text}}' },
          provider: { baseUrl: mock.url },
          batching: { recordsPerRequest: 5 },
          limits: { concurrency: 2 },
        },
        null,
        2,
      ),
    );
    await workbench.openFile('slow.drover.json');
    // The CodeLens above the spec starts it.
    await workbench.page.locator('.codelens-decoration a', { hasText: 'Run' }).first().click();
    await workbench.openActivity('Drover');
    const row = workbench.sideBarRow('slow-sentiment');
    // The item's own state icon (the inline actions have icons of their own).
    const stateIcon = (icon: string) => row.locator(`.custom-view-tree-node-item-icon.codicon-${icon}`);
    await stateIcon('loading').waitFor({ timeout: 30_000 });
    await row.filter({ hasText: /[1-9][\d,]* \/ 1,500/ }).waitFor({ timeout: 30_000 });
    await row.hover();
    await row.locator('.action-label[aria-label="Pause Job"]').click();
    await stateIcon('debug-pause').waitFor({ timeout: 30_000 });
    await workbench.webviewFrame().locator('.status-banner', { hasText: 'paused by the user' }).waitFor({ timeout: 30_000 });
    const pausedAt = (await row.textContent()) ?? '';
    assert.doesNotMatch(pausedAt, /1,500 \/ 1,500/);
    await workbench.screenshot('tree-paused');

    await row.hover();
    await row.locator('.action-label[aria-label="Resume Job"]').click();
    await stateIcon('loading').waitFor({ timeout: 30_000 });
    await workbench.screenshot('tree-resumed');
    await row.filter({ hasText: '1,500 / 1,500' }).locator('.custom-view-tree-node-item-icon.codicon-pass').waitFor({ timeout: 120_000 });
    assert.ok(existsSync(join(home, 'jobs', 'slow-sentiment')));
  });

  it('cancels a running job and deletes it from the Jobs view, each after a confirmation', async () => {
    await writeFile(
      join(workspace, 'doomed.drover.json'),
      JSON.stringify({ name: 'doomed', source: { type: 'sqlite', path: 'big.db', table: 'feedback', key: 'id' }, prompt: { template: '{{text}}' }, provider: { baseUrl: mock.url }, batching: { recordsPerRequest: 2 }, limits: { concurrency: 1 } }),
    );
    await workbench.openFile('doomed.drover.json');
    await workbench.runCommand('Drover: Run Job File');
    await workbench.openActivity('Drover');
    const row = workbench.sideBarRow('doomed');
    await row.locator('.custom-view-tree-node-item-icon.codicon-loading').waitFor({ timeout: 30_000 });
    await row.filter({ hasText: /[1-9][\d,]* \/ 1,500/ }).waitFor({ timeout: 30_000 });
    await row.hover();
    await row.locator('.action-label[aria-label="Cancel Job"]').click();
    const dialog = workbench.page.locator('.monaco-dialog-box');
    await dialog.getByText('Cancel job doomed?', { exact: false }).waitFor();
    await dialog.getByRole('button', { name: 'Cancel Job' }).click();
    await row.locator('.custom-view-tree-node-item-icon.codicon-circle-slash').waitFor({ timeout: 30_000 });
    await workbench.webviewFrame().locator('.status-banner', { hasText: 'cancelled' }).waitFor({ timeout: 30_000 });
    await workbench.screenshot('tree-cancelled');

    await row.click({ button: 'right' });
    await workbench.page.getByRole('menuitem', { name: 'Delete Job' }).hover();
    await workbench.page.keyboard.press('Enter');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached', timeout: 30_000 });
    // Its dashboard went with it.
    await workbench.page.locator('.tabs-container .tab', { hasText: 'Drover: doomed' }).waitFor({ state: 'detached' });
    assert.equal(existsSync(join(home, 'jobs', 'doomed')), false);
  });

  it('brings the dashboard back after the window reloads, while the daemon keeps the jobs', async () => {
    const daemonPid = JSON.parse(readFileSync(join(home, 'daemon.json'), 'utf8')) as { pid: number };
    await workbench.runCommand('Developer: Reload Window');
    await workbench.page.locator('.monaco-workbench').waitFor();
    const tab = workbench.page.locator('.tabs-container .tab', { hasText: 'Drover: slow-sentiment' });
    await tab.waitFor({ timeout: 60_000 });
    await tab.click();
    const frame = workbench.webviewFrame();
    await frame.locator('.progress-count', { hasText: '1,500 / 1,500 records' }).waitFor({ timeout: 60_000 });
    await frame.locator('.progress-percent', { hasText: '100.0%' }).waitFor();
    // The same daemon: a reload only reconnects.
    assert.equal((JSON.parse(readFileSync(join(home, 'daemon.json'), 'utf8')) as { pid: number }).pid, daemonPid.pid);
    await workbench.screenshot('dashboard-restored-after-reload');
  });
});
