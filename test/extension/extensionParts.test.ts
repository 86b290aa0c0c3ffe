// The extension's parts that need no editor, under node's test runner: which Node runs the
// daemon, following the daemon's log, turning a selection into records, the spec Run
// Analysis writes, and how a job reads in the tree.
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileOutputSchema } from '../../daemon/pipeline/outputSchema';
import type { JobInfo } from '../../daemon/protocol/rpc';
import { validateSpec } from '../../daemon/spec/loadSpec';
import { DaemonLogTail, formatLogEntry, type DaemonLogEntry } from '../../extension/daemon/daemonLogTail';
import { DaemonRuntimeError, findDaemonRuntime } from '../../extension/daemon/nodeRuntime';
import { displayState, jobContextValue, jobDescription } from '../../extension/jobs/jobPresentation';
import { summarizeSpec } from '../../extension/panels/jobSpecSummary';
import { defaultTemplate, keyField } from '../../extension/preview/previewTemplate';
import { prepareSelection, SelectionError } from '../../extension/preview/recordSelection';
import { buildAnalysisSpec, promptTemplate, suggestJobName } from '../../extension/runAnalysis/analysisSpec';
import { outputSchemaProblem, splitList, taskPrompt } from '../../extension/runAnalysis/analysisTasks';

const repoRoot = resolve(__dirname, '..', '..');

describe('findDaemonRuntime', () => {
  it('takes the system node when it loads better-sqlite3', async () => {
    const runtime = await findDaemonRuntime({ configuredPath: '', extensionPath: repoRoot, editorExecutable: process.execPath });
    assert.equal(runtime.command, 'node');
    assert.equal(runtime.origin, 'system');
  });

  it('uses only drover.daemon.nodePath when it is set', async () => {
    const runtime = await findDaemonRuntime({ configuredPath: process.execPath, extensionPath: repoRoot, editorExecutable: '/nonexistent' });
    assert.deepEqual(runtime, { command: process.execPath, env: {}, origin: 'setting' });
  });

  it('names the setting, why each runtime failed, and the fix when none can run the daemon', async () => {
    await assert.rejects(
      findDaemonRuntime({ configuredPath: '/nonexistent/node', extensionPath: repoRoot, editorExecutable: process.execPath }),
      (error: unknown) => {
        assert.ok(error instanceof DaemonRuntimeError);
        assert.match(error.message, /drover\.daemon\.nodePath \(\/nonexistent\/node\): not found/);
        assert.match(error.message, /Point drover\.daemon\.nodePath at a Node\.js 20\+ executable/);
        return true;
      },
    );
    // An executable that is not Node (it exits 0 without running the check) does not count.
    await assert.rejects(findDaemonRuntime({ configuredPath: '/bin/true', extensionPath: repoRoot, editorExecutable: process.execPath }), /not a Node\.js executable/);
    // A Node whose extension folder has no better-sqlite3 cannot run the daemon either.
    await assert.rejects(
      findDaemonRuntime({ configuredPath: process.execPath, extensionPath: tmpdir(), editorExecutable: process.execPath }),
      /Cannot find module/,
    );
  });
});

describe('DaemonLogTail', () => {
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'drover-log-tail-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('reports only lines appended after start, whole lines only, and starts over after a rotation', async () => {
    const file = join(scratch, 'daemon.log');
    const line = (msg: string, fields: Record<string, unknown> = {}) => `${JSON.stringify({ time: '2026-01-01T00:00:00Z', level: 'info', msg, ...fields })}\n`;
    await writeFile(file, line('before the window came'));
    const entries: DaemonLogEntry[] = [];
    const tail = new DaemonLogTail(file, (entry) => entries.push(entry), { pollMs: 60_000, maxReadBytes: 1024 });
    await tail.start();
    try {
      await appendFile(file, line('job started', { job: 'a', model: 'gpt-4.1' }));
      const half = line('second');
      await appendFile(file, half.slice(0, 10));
      await tail.poll();
      assert.deepEqual(entries, [{ level: 'info', text: 'job started  job=a model=gpt-4.1' }]);
      await appendFile(file, half.slice(10));
      await tail.poll();
      assert.deepEqual(entries.map((entry) => entry.text), ['job started  job=a model=gpt-4.1', 'second']);

      await rename(file, `${file}.1`);
      await writeFile(file, line('after rotation'));
      await tail.poll();
      assert.equal(entries.at(-1)?.text, 'after rotation');
    } finally {
      tail.stop();
    }
  });

  it('passes a line that is not a log entry through as it is', () => {
    assert.deepEqual(formatLogEntry('drover daemon: listen EADDRINUSE'), { level: 'info', text: 'drover daemon: listen EADDRINUSE' });
    assert.equal(formatLogEntry('   '), null);
    assert.deepEqual(formatLogEntry(JSON.stringify({ time: 't', level: 'warn', msg: 'slow', ms: 5 })), { level: 'warn', text: 'slow  ms=5' });
  });
});

describe('prepareSelection', () => {
  it('puts the header in front of CSV rows selected below it and maps lines back', () => {
    const prepared = prepareSelection({ format: 'csv', text: 'r4,mixer,good\nr5,grill,bad\n', startLine: 5, headerLine: 'id,product,text' });
    assert.equal(prepared.content, 'id,product,text\nr4,mixer,good\nr5,grill,bad\n');
    assert.equal(prepared.documentLine(1), 1);
    assert.equal(prepared.documentLine(2), 5);
    assert.equal(prepared.documentLine(3), 6);
  });

  it('wraps objects selected inside a JSON array and knows the line each starts on', () => {
    const text = '  {"id": 2},\n  {"id": 3,\n   "x": 1},\n';
    const prepared = prepareSelection({ format: 'json', text, startLine: 3, headerLine: '[' });
    assert.deepEqual(JSON.parse(prepared.content), [{ id: 2 }, { id: 3, x: 1 }]);
    assert.deepEqual(prepared.recordLines, [3, 4]);
    assert.deepEqual(prepared.parseErrors, []);
  });

  it('names the editor line of a JSON syntax error', () => {
    const prepared = prepareSelection({ format: 'json', text: '{"id": 1},\n{"id": 2 "x": 3}', startLine: 10, headerLine: '[' });
    assert.equal(prepared.parseErrors[0]?.line, 11);
    assert.match(prepared.parseErrors[0]?.message ?? '', /not valid JSON: CommaExpected/);
  });

  it('keeps JSONL as it is, lines offset by where the selection starts', () => {
    const prepared = prepareSelection({ format: 'jsonl', text: '{"a":1}\n{"a":2}\n', startLine: 40, headerLine: '{"a":0}' });
    assert.equal(prepared.content, '{"a":1}\n{"a":2}\n');
    assert.equal(prepared.documentLine(2), 41);
  });

  it('refuses an empty selection and text that is no JSON records', () => {
    assert.throws(() => prepareSelection({ format: 'jsonl', text: '  \n', startLine: 1, headerLine: '' }), SelectionError);
    assert.throws(() => prepareSelection({ format: 'json', text: '"just a string"', startLine: 1, headerLine: '' }), /Select a JSON array, or one or more whole objects/);
  });
});

describe('the preview template', () => {
  it('starts from the field that holds the text, else the first fields by name', () => {
    assert.equal(defaultTemplate(['id', 'Review', 'stars']), '{{Review}}');
    assert.equal(defaultTemplate(['id', 'a.b', 'stars']), 'id: {{id}}\nstars: {{stars}}');
    assert.equal(keyField(['name', 'ID']), 'ID');
    assert.equal(keyField(['name']), undefined);
  });
});

describe('the spec Run Analysis writes', () => {
  const answers = {
    name: 'feedback-sentiment',
    source: { type: 'sqlite' as const, path: '/work/ws/data/feedback.db', table: 'feedback', key: 'id' },
    fields: ['channel', 'text'],
    task: { kind: 'classification' as const, labels: ['bug', 'praise'] },
    model: 'gpt-4.1-mini',
    baseUrl: 'http://127.0.0.1:9/v1',
    limits: { concurrency: 8, rpm: 500, tpm: null, budgetUsd: 2 },
  };

  it('is a valid job spec with paths relative to the workspace and only the limits that are set', () => {
    const spec = buildAnalysisSpec(answers, '/work/ws');
    const parsed = validateSpec(spec);
    assert.deepEqual(parsed.source, { type: 'sqlite', path: 'data/feedback.db', table: 'feedback', key: 'id', pageSize: 2000 });
    assert.deepEqual(spec.limits, { concurrency: 8, rpm: 500, budgetUsd: 2 });
    assert.equal(parsed.prompt.template, 'channel: {{channel}}\ntext: {{text}}');
    assert.deepEqual(spec.sink, { type: 'jsonl', path: 'feedback-sentiment.results.jsonl' });
  });

  it('has an output schema the engine compiles for every built-in task', () => {
    const tasks = [
      { kind: 'sentiment' as const },
      { kind: 'classification' as const, labels: ['a', 'b'] },
      { kind: 'extraction' as const, fields: ['product', 'country'] },
    ];
    for (const task of tasks) {
      const { output } = taskPrompt(task);
      const validator = compileOutputSchema(output);
      assert.equal(validator.check({}) !== null, true, `${task.kind}: an empty answer must be refused`);
    }
    const extraction = compileOutputSchema(taskPrompt({ kind: 'extraction', fields: ['product'] }).output);
    assert.equal(extraction.check({ product: null }), null);
    const classification = compileOutputSchema(taskPrompt({ kind: 'classification', labels: ['a', 'b'] }).output);
    assert.equal(classification.check({ category: 'a', confidence: 90 }), null);
    assert.notEqual(classification.check({ category: 'c', confidence: 90 }), null);
  });

  it('checks lists, names and custom schemas typed in the wizard', () => {
    assert.deepEqual(splitList(' bug, praise ,,bug, feature request'), ['bug', 'praise', 'feature request']);
    assert.equal(suggestJobName('Feedback (2024)', 'sentiment'), 'feedback-2024-sentiment');
    assert.equal(promptTemplate(['text']), '{{text}}');
    assert.match(outputSchemaProblem('{"type":"object"') ?? '', /Not valid JSON/);
    assert.match(outputSchemaProblem('{"type":"string"}') ?? '', /must describe an object with properties/);
    assert.equal(outputSchemaProblem('{"type":"object","properties":{"answer":{"type":"string"}}}'), undefined);
  });
});

describe('how a job reads', () => {
  const info = (overrides: Partial<JobInfo>): JobInfo => ({
    jobId: 'j',
    status: 'running',
    statusReason: null,
    active: true,
    model: 'gpt-4.1-mini',
    records: { total: 5_000_000, totalExact: true, done: 411_000, failed: 1_000 },
    tokens: { prompt: 1, completion: 1 },
    costUsd: 12.4,
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
    ...overrides,
  });

  it('describes progress, rate and cost on one line', () => {
    const running = info({});
    const progress = { rates: { recordsPerSec: 1230, tokensPerSec: 5 } } as Parameters<typeof jobDescription>[1];
    assert.equal(jobDescription(running, progress), '412,000 / 5,000,000 · 1,230/s · $12.40');
    assert.equal(jobDescription(info({ active: false, status: 'paused' }), progress), '412,000 / 5,000,000 · $12.40');
    assert.equal(jobDescription(info({ records: { total: null, totalExact: false, done: 3, failed: 0 } }), null), '3 / ? · $12.40');
  });

  it('tells a pause by the user from a stop on an error, and offers the matching actions', () => {
    assert.equal(displayState(info({}), null), 'running');
    assert.equal(displayState(info({ status: 'paused', active: false, statusReason: 'paused by the user' }), null), 'paused');
    assert.equal(displayState(info({ status: 'paused', active: false, statusReason: 'The provider rejected the API key (401)' }), null), 'failed');
    assert.equal(displayState(info({ status: 'done', active: false }), null), 'doneWithFailures');
    assert.equal(jobContextValue('running'), 'drover.job running pausable cancellable');
    assert.equal(jobContextValue('failed'), 'drover.job failed resumable cancellable deletable');
  });

  it('summarizes the stored spec for the dashboard without a URL password', () => {
    const summary = summarizeSpec(
      { name: 'x', source: { type: 'postgres', url: 'postgres://u:secret@db:5432/app', table: 'reviews' }, prompt: { template: '{{t}}' }, limits: { budgetUsd: 3 } },
      undefined,
    );
    assert.equal(summary.source, 'postgres postgres://u:***@db:5432/app (table reviews)');
    assert.equal(summary.budgetUsd, 3);
    const local = summarizeSpec({ name: 'x', source: { type: 'file', path: '/ws/data/a.csv' }, prompt: { template: '{{t}}' } }, '/ws');
    assert.equal(local.source, 'file data/a.csv');
  });
});
