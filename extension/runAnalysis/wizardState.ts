// What the Run Analysis wizard has been told so far, and the spec and estimate it makes
// of that. Shared by its steps (sourceSteps.ts, jobSteps.ts). No UI.
import type { JobEstimate } from '../../daemon/protocol/estimate';
import type { DroverSettings } from '../settings/droverSettings';
import type { AnalysisAnswers, AnalysisSource } from './analysisSpec';
import type { AnalysisTask } from './analysisTasks';
import type { Column, DatabaseSource } from './sourceCatalog';

export interface WizardState {
  /** The workspace folder the job file is saved in (and its paths are relative to). */
  root: string;
  settings: DroverSettings;
  sourceType: 'sqlite' | 'postgres' | 'file';
  /** The file's absolute path, or the Postgres URL. */
  location: string;
  table?: string;
  query?: string;
  columns: Column[];
  key?: string;
  fields: string[];
  task: AnalysisTask;
  model: string;
  limits: AnalysisAnswers['limits'];
  name: string;
  estimate?: JobEstimate;
  start: boolean;
}

export const wizardTitle = 'Drover: Run Analysis';
export const wizardSteps = 9;

export function initialState(root: string, settings: DroverSettings): WizardState {
  return {
    root,
    settings,
    sourceType: 'sqlite',
    location: '',
    columns: [],
    fields: [],
    task: { kind: 'sentiment' },
    model: settings.defaultModel,
    limits: { ...settings.limits },
    name: '',
    start: true,
  };
}

export function answersOf(state: WizardState): AnalysisAnswers {
  return { name: state.name || 'draft', source: sourceOf(state), fields: state.fields, task: state.task, model: state.model, baseUrl: state.settings.providerBaseUrl, limits: state.limits };
}

function sourceOf(state: WizardState): AnalysisSource {
  const what = state.query !== undefined ? { query: state.query } : { table: state.table };
  switch (state.sourceType) {
    case 'sqlite':
      return { type: 'sqlite', path: state.location, ...what, key: state.key ?? 'id' };
    case 'postgres':
      return { type: 'postgres', url: state.location, ...what, key: state.key ?? 'id' };
    case 'file':
      return { type: 'file', path: state.location, ...(state.key ? { key: state.key } : {}) };
  }
}

export function databaseOf(state: WizardState): DatabaseSource {
  return state.sourceType === 'postgres' ? { type: 'postgres', url: state.location } : { type: 'sqlite', path: state.location };
}
