// The Run Analysis steps that shape the job: task, model (each priced by an estimate of
// this very job), limits and budget, name, and the confirmation with the estimate.
import { basename, extname } from 'node:path';
import type { JobEstimate } from '../../daemon/protocol/estimate';
import type { JobLauncher } from '../jobs/jobLauncher';
import { chosenModel, durationText, estimateSummary, modelCostText } from '../specs/estimateText';
import { buildAnalysisSpec, jobNamePattern, suggestJobName } from './analysisSpec';
import { outputSchemaProblem, splitList, taskLabels } from './analysisTasks';
import type { Step } from './multiStepInput';
import { answersOf, wizardSteps as totalSteps, wizardTitle as title, type WizardState as State } from './wizardState';

function positiveOrEmpty(value: string): string | undefined {
  if (value.trim() === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) && number > 0 ? undefined : 'Enter a positive number, or nothing';
}

const numberOrNull = (value: string) => (value.trim() === '' ? null : Number(value));

export class JobSteps {
  constructor(private readonly launcher: JobLauncher) {}

  task: Step<State> = async (input, state) => {
    const kinds = ['sentiment', 'classification', 'extraction', 'custom'] as const;
    const picked = await input.pick({
      title,
      step: 6,
      totalSteps,
      placeholder: 'What should the model do with each record?',
      items: kinds.map((task) => ({ ...taskLabels[task], task })),
    });
    const common = { title, step: 6, totalSteps };
    switch (picked.task) {
      case 'sentiment':
        state.task = { kind: 'sentiment' };
        break;
      case 'classification': {
        const labels = await input.input({ ...common, value: '', prompt: 'The categories, separated by commas', placeholder: 'billing, bug, feature request, praise', validate: (text) => (splitList(text).length >= 2 ? undefined : 'Give at least two categories') });
        state.task = { kind: 'classification', labels: splitList(labels) };
        break;
      }
      case 'extraction': {
        const fields = await input.input({ ...common, value: '', prompt: 'The fields to extract, separated by commas', placeholder: 'product, order_number, country', validate: (text) => (splitList(text).length > 0 && splitList(text).every((name) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) ? undefined : 'Give field names (letters, digits, _)') });
        state.task = { kind: 'extraction', fields: splitList(fields) };
        break;
      }
      case 'custom': {
        const system = await input.input({ ...common, value: '', prompt: 'The instructions (system prompt) for every record', validate: (text) => (text.trim() ? undefined : 'Write the instructions') });
        const output = await input.input({ ...common, value: '{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}', prompt: "JSON Schema of one record's answer", validate: outputSchemaProblem });
        state.task = { kind: 'custom', system: system.trim(), output: JSON.parse(output) as Record<string, unknown> };
        break;
      }
    }
    return this.model;
  };

  model: Step<State> = async (input, state) => {
    const picked = await input.pick({
      title,
      step: 7,
      totalSteps,
      placeholder: 'The model (estimated cost of this job beside each)',
      activeLabel: state.model,
      items: async () => {
        const estimate = await this.estimate(state);
        // The duration depends on the limits, not the model: said once, on the first entry.
        const duration = durationText(estimate);
        return estimate.models.map((model, index) => ({
          label: model.model,
          description: index === 0 ? `${modelCostText(model)} · ${duration}` : modelCostText(model),
          detail: model.inputPerMTok === null ? 'no known price (add one in drover.prices)' : `$${model.inputPerMTok} in / $${model.outputPerMTok} out per million tokens`,
        }));
      },
    });
    state.model = picked.label;
    return this.limits;
  };

  limits: Step<State> = async (input, state) => {
    const shown = (value: number | null) => (value === null ? 'none' : value.toLocaleString('en-US'));
    const current = `concurrency ${state.limits.concurrency} · rpm ${shown(state.limits.rpm)} · tpm ${shown(state.limits.tpm)}`;
    const picked = await input.pick({
      title,
      step: 8,
      totalSteps,
      placeholder: 'Rate limits: the provider\'s requests and tokens per minute for your account',
      items: [
        { label: 'Use these limits', description: current, change: false },
        { label: 'Change limits…', description: 'concurrency, requests/min, tokens/min', change: true },
      ],
    });
    const common = { title, step: 8, totalSteps };
    if (picked.change) {
      const concurrency = await input.input({ ...common, value: String(state.limits.concurrency), prompt: 'Requests in flight at once', validate: (text) => (Number.isInteger(Number(text)) && Number(text) >= 1 && Number(text) <= 1024 ? undefined : 'A whole number from 1 to 1024') });
      const rpm = await input.input({ ...common, value: state.limits.rpm === null ? '' : String(state.limits.rpm), prompt: 'Requests per minute (empty: no limit)', validate: positiveOrEmpty });
      const tpm = await input.input({ ...common, value: state.limits.tpm === null ? '' : String(state.limits.tpm), prompt: 'Tokens per minute (empty: no limit)', validate: positiveOrEmpty });
      state.limits = { ...state.limits, concurrency: Number(concurrency), rpm: numberOrNull(rpm), tpm: numberOrNull(tpm) };
    }
    const cost = state.estimate ? state.estimate.models.find((model) => model.model === state.model) : undefined;
    const budget = await input.input({
      ...common,
      value: state.limits.budgetUsd === null ? '' : String(state.limits.budgetUsd),
      prompt: `Budget cap in USD: the job pauses before passing it (empty: none). Estimated: ${cost ? modelCostText(cost) : 'unknown'} with ${state.model}`,
      validate: positiveOrEmpty,
    });
    state.limits = { ...state.limits, budgetUsd: numberOrNull(budget) };
    return this.name;
  };

  name: Step<State> = async (input, state) => {
    const what = state.table ?? (state.sourceType === 'file' ? basename(state.location, extname(state.location)) : 'query');
    const value = await input.input({
      title,
      step: 9,
      totalSteps,
      value: state.name || suggestJobName(what, state.task.kind),
      prompt: 'The job name: it names the job file (<name>.drover.json) and the job; running it again resumes it',
      validate: (text) => (jobNamePattern.test(text) ? undefined : 'Letters, digits, "_", "-" and "." (starting with a letter or digit), at most 100'),
    });
    state.name = value;
    return this.confirm;
  };

  confirm: Step<State> = async (input, state) => {
    const picked = await input.pick({
      title: `${title}: ${state.name}`,
      step: 9,
      totalSteps,
      placeholder: 'Start the job?',
      items: async () => {
        const summary = estimateSummary(await this.estimate(state));
        return [
          { label: '$(play) Start', detail: summary, start: true },
          { label: '$(save) Save the job file only', detail: `${state.name}.drover.json — run it later with "Drover: Run Job File"`, start: false },
        ];
      },
    });
    state.start = picked.start;
    return undefined;
  };

  private async estimate(state: State): Promise<JobEstimate> {
    const input = buildAnalysisSpec(answersOf(state), state.root);
    const estimate = await this.launcher.estimate({ input, baseDir: state.root }, { remember: false });
    state.estimate = estimate;
    if (!chosenModel(estimate)) throw new Error(`the estimate has no entry for ${state.model}`);
    return estimate;
  }
}
