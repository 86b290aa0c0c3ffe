// The job dashboard inside its webview: posts `ready`, shows the snapshot the extension
// answers with, then applies progress, errors and results updates. Renders once per frame
// at most, and keeps the chart's history across webview reloads with VS Code's state.
import '../shared/zodWithoutEval';
import '../shared/base.css';
import './dashboard.css';
import './bars.css';
import { z } from 'zod';
import type { JobEstimate } from '../../daemon/protocol/estimate';
import type { JobProgress } from '../../daemon/protocol/jobProgress';
import {
  type ChartPoint,
  chartPointSchema,
  type DashboardSnapshot,
  type DashboardToExtension,
  type ErrorClassCountMessage,
  type ExtensionToDashboard,
  extensionToDashboardSchema,
  type JobSpecSummary,
  type ResultsPage,
} from '../protocol/dashboardMessages';
import { element } from '../shared/dom';
import { connectToHost } from '../shared/hostBridge';
import { throttle } from '../shared/throttle';
import { appendPoint, mergeHistories, pointFrom } from './chartHistory';
import { ControlsView } from './controlsView';
import { costFigures, CostView } from './costView';
import { ErrorsView } from './errorsView';
import { HeadroomView } from './headroomView';
import { JobHeader } from './jobHeader';
import { bannerFor, controlsFor, jobPhase } from './jobPhase';
import { ProgressView } from './progressView';
import { RateChart } from './rateChart';
import { ResultsView } from './resultsView';
import { StatusBanner } from './statusBanner';

const savedStateSchema = z.object({ jobId: z.string().nullable(), history: z.array(chartPointSchema) });
type SavedState = z.infer<typeof savedStateSchema>;

interface DashboardModel {
  jobId: string | null;
  name: string;
  spec: JobSpecSummary | null;
  progress: JobProgress | null;
  estimate: JobEstimate | null;
  errors: readonly ErrorClassCountMessage[];
  results: ResultsPage | null;
  history: ChartPoint[];
}

type Part = 'job' | 'progress' | 'errors' | 'results' | 'chart';

const controls = new ControlsView((action) => postJobAction(action));
const header = new JobHeader(controls.root);
const banner = new StatusBanner((action) => postJobAction(action));
const progressView = new ProgressView();
const chart = new RateChart();
const headroom = new HeadroomView();
const cost = new CostView();
const errorsView = new ErrorsView();
const resultsView = new ResultsView((offset, limit) => {
  if (model.jobId !== null) host.post({ type: 'requestResults', jobId: model.jobId, offset, limit });
});

const app = document.getElementById('app') ?? document.body;
app.append(
  header.root,
  banner.root,
  progressView.root,
  element('div', { className: 'dashboard-grid' }, [chart.root, headroom.root]),
  cost.root,
  errorsView.root,
  resultsView.root,
);

const host = connectToHost<ExtensionToDashboard, DashboardToExtension>('dashboard', extensionToDashboardSchema, receive);
const saved: SavedState = host.loadState(savedStateSchema) ?? { jobId: null, history: [] };
const model: DashboardModel = {
  jobId: null,
  name: 'Loading job…',
  spec: null,
  progress: null,
  estimate: null,
  errors: [],
  results: null,
  history: saved.history,
};
// Saving the whole history costs a serialisation: once a second is plenty, and the last
// one goes out as the page is torn down.
const saveState = throttle(() => host.saveState({ jobId: model.jobId ?? saved.jobId, history: model.history } satisfies SavedState), 1000);
window.addEventListener('pagehide', () => saveState.flush());

const dirty = new Set<Part>(['job', 'progress', 'chart']);
let frameRequested = false;
render();
host.post({ type: 'ready' });

function receive(message: ExtensionToDashboard): void {
  switch (message.type) {
    case 'snapshot':
      applySnapshot(message);
      break;
    case 'progress':
      if (!acceptsUpdate('progress', message.progress.jobId)) return;
      model.progress = message.progress;
      recordChartPoint(message.progress);
      markDirty('job', 'progress', 'chart');
      break;
    case 'errors':
      if (!acceptsUpdate('errors')) return;
      model.errors = message.errors;
      markDirty('errors');
      break;
    case 'results':
      if (!acceptsUpdate('results')) return;
      model.results = message.page;
      markDirty('results');
      break;
  }
}

function applySnapshot(snapshot: DashboardSnapshot): void {
  const kept = (model.jobId ?? saved.jobId) === snapshot.jobId ? model.history : [];
  Object.assign(model, {
    jobId: snapshot.jobId,
    name: snapshot.name,
    spec: snapshot.spec,
    progress: snapshot.progress,
    estimate: snapshot.estimate,
    errors: snapshot.errors,
    results: snapshot.results,
    history: mergeHistories(kept, snapshot.history),
  } satisfies DashboardModel);
  if (snapshot.progress !== null) recordChartPoint(snapshot.progress);
  saveState();
  saveState.flush();
  markDirty('job', 'progress', 'chart', 'errors', 'results');
}

/**
 * Only a running job's rates are samples: a paused or finished one reports 0/s at the same
 * elapsed time, which would overwrite the last real sample with a drop to zero.
 */
function recordChartPoint(progress: JobProgress): void {
  if (progress.status !== 'running') return;
  model.history = appendPoint(model.history, pointFrom(progress));
  saveState();
}

/** Updates before the snapshot, or for another job, are the extension's mistake: say so, show nothing. */
function acceptsUpdate(what: string, jobId: string | null = model.jobId): boolean {
  if (model.jobId === null) {
    console.warn(`Drover dashboard: ignored ${what} that came before the snapshot`);
    return false;
  }
  if (jobId === model.jobId) return true;
  console.warn(`Drover dashboard: ignored ${what} for job ${String(jobId)}; this panel shows ${model.jobId}`);
  return false;
}

function postJobAction(action: 'pause' | 'resume' | 'cancel' | 'openResults' | 'setApiKey' | 'showLogs'): void {
  if (model.jobId !== null) host.post({ type: action, jobId: model.jobId });
}

function markDirty(...parts: Part[]): void {
  for (const part of parts) dirty.add(part);
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(render);
}

function render(): void {
  frameRequested = false;
  const { progress } = model;
  if (dirty.has('job') || dirty.has('progress')) {
    header.update(model.name, model.spec, jobPhase(progress));
    banner.update(bannerFor(progress));
    controls.update(controlsFor(progress));
    if (progress !== null) {
      progressView.update(progress);
      headroom.update(progress, model.spec?.limits.concurrency ?? null);
    }
    cost.update(costFigures(progress, model.estimate, model.spec?.budgetUsd ?? null));
  }
  if (dirty.has('chart')) chart.update(model.history, progress === null ? null : pointFrom(progress));
  if (dirty.has('errors')) errorsView.update(model.errors);
  if (dirty.has('results') && model.results !== null) resultsView.update(model.results);
  dirty.clear();
}
