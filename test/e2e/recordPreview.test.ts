// The record preview in code-server, driven in Chromium: a selection of objects in a JSON
// file and of rows in a CSV file (below its header) shown as the model will see them,
// with the editor's line numbers; "Run on these records" answers just those; a JSONL file
// previewed from the Explorer names its broken line. Needs the build and code-server.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMockLlm, type MockLlmServer } from '../../daemon/mockLlm/server';
import { type CodeServer, startCodeServer } from '../support/codeServer';
import { openWorkbench, type Workbench, tearDownWorkbench } from '../support/workbench';

const repoRoot = resolve(__dirname, '..', '..');

const reviews = [
  { id: 'r1', product: 'kettle', text: 'Boils fast and looks great. Love it.' },
  { id: 'r2', product: 'toaster', text: 'Burnt every slice, terrible.' },
  { id: 'r3', product: 'blender', text: 'Works as described.' },
  { id: 'r4', product: 'mixer', text: 'Excellent build, great value, would buy again.' },
  { id: 'r5', product: 'grill', text: 'Broke after a week, very disappointed.' },
  { id: 'r6', product: 'fryer', text: 'Okay, nothing special.' },
  { id: 'r7', product: 'juicer', text: 'Fantastic! My favourite purchase this year.' },
];

describe('Drover record preview in code-server', () => {
  let scratch: string;
  let home: string;
  let mock: MockLlmServer;
  let server: CodeServer;
  let workbench: Workbench;

  /** Selects whole lines `first`..`last` (1-based) of the focused editor. */
  const selectLines = async (first: number, last: number) => {
    const { page } = workbench;
    // Go to Line is quick access: its input holds ':' and the line number. It leaves the
    // cursor in column 1 (Home would move it to the first non-blank character).
    await page.keyboard.press('Control+G');
    await workbench.quickInput('line', `:${first}`);
    for (let line = first; line <= last; line += 1) await page.keyboard.press('Shift+ArrowDown');
  };

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'drover-e2e-preview-'));
    const workspace = join(scratch, 'workspace');
    home = join(scratch, 'drover-home');
    await mkdir(workspace);
    // One object per line inside the array, so a selection of lines is a selection of records.
    await writeFile(join(workspace, 'reviews.json'), `[\n${reviews.map((review) => `  ${JSON.stringify(review)}`).join(',\n')}\n]\n`);
    const csv = ['id,product,text', ...reviews.map((review) => `${review.id},${review.product},"${review.text}"`)];
    await writeFile(join(workspace, 'reviews.csv'), `${csv.join('\n')}\n`);
    const jsonl = reviews.map((review) => JSON.stringify(review));
    jsonl[2] = '{"id": "r3", "text": "a line cut short';
    await writeFile(join(workspace, 'reviews.jsonl'), `${jsonl.join('\n')}\n`);
    mock = await startMockLlm({ latencyMs: 20 });
    server = await startCodeServer({
      workspace,
      extensionDevelopmentPath: repoRoot,
      env: { DROVER_HOME: home },
      settings: { 'drover.provider.baseUrl': mock.url, 'drover.defaultModel': 'gpt-4.1-mini' },
    });
    workbench = await openWorkbench(server.url);
  });

  after(() => tearDownWorkbench({ workbench, home, server, mock, scratch }));

  it('previews a selection of objects in a JSON file and runs the task on just those', async () => {
    await workbench.openFile('reviews.json');
    await selectLines(3, 5); // r2, r3, r4
    await workbench.runCommand('Drover: Preview Records');
    const frame = workbench.webviewFrame();
    const rows = frame.locator('.records-table tbody tr');
    await rows.first().waitFor({ timeout: 30_000 });
    assert.deepEqual(await rows.locator('th.key').allTextContents(), ['r2', 'r3', 'r4']);
    assert.deepEqual(await rows.locator('td.line').allTextContents(), ['3', '4', '5']);
    assert.match((await frame.locator('.preview-source').textContent()) ?? '', /^reviews\.json, lines 3–5 · gpt-4\.1-mini · 3 records shown/);
    // The template picked the text field; the prompt column shows each record's text.
    assert.match((await rows.first().locator('td.prompt').textContent()) ?? '', /Burnt every slice/);
    await workbench.screenshot('preview-json-selection');

    await frame.getByRole('button', { name: 'Run on these records' }).click();
    await frame.locator('.run-status[data-state="done"]').waitFor({ timeout: 60_000 });
    const answers = await rows.locator('td.answer').allTextContents();
    assert.equal(answers.length, 3);
    assert.match(answers[0], /negative/);
    assert.match(answers[2], /positive/);
    // The answers are the table's last column: give the preview the whole width to show them.
    await workbench.runCommand('View: Close Editors in Other Groups');
    await rows.locator('td.answer').first().scrollIntoViewIfNeeded();
    await workbench.screenshot('preview-json-answers');
  });

  it('previews rows selected below the header of a CSV file', async () => {
    await workbench.openFile('reviews.csv');
    await selectLines(5, 7); // r4, r5, r6
    await workbench.runCommand('Drover: Preview Records');
    const frame = workbench.webviewFrame();
    await frame.locator('.preview-source', { hasText: 'reviews.csv, lines 5–7' }).waitFor({ timeout: 30_000 });
    const rows = frame.locator('.records-table tbody tr');
    assert.deepEqual(await rows.locator('th.key').allTextContents(), ['r4', 'r5', 'r6']);
    assert.deepEqual(await rows.locator('td.line').allTextContents(), ['5', '6', '7']);
    assert.match((await rows.nth(1).locator('td.prompt').textContent()) ?? '', /Broke after a week/);
    await frame.locator('.totals', { hasText: '3 records' }).waitFor();
    await workbench.screenshot('preview-csv-selection');
  });

  it('names the broken line of a JSONL file previewed from the Explorer', async () => {
    await workbench.openActivity('Explorer');
    const file = workbench.sideBarRow('reviews.jsonl');
    await file.click({ button: 'right' });
    await workbench.page.getByRole('menuitem', { name: 'Preview Records' }).hover();
    await workbench.page.keyboard.press('Enter');
    const frame = workbench.webviewFrame();
    await frame.locator('.preview-source', { hasText: /^reviews\.jsonl/ }).waitFor({ timeout: 30_000 });
    const error = frame.locator('.parse-errors li').first();
    await error.waitFor();
    assert.equal(await error.locator('.line').textContent(), 'Line 3');
    assert.equal(await frame.locator('.records-table tbody tr').count(), reviews.length);
    await workbench.screenshot('preview-jsonl-parse-error');
  });
});
