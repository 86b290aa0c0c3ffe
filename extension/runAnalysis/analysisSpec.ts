// The job spec Run Analysis writes, from the wizard's answers. Paths are relative to the
// spec file, so the workspace can move; the provider and default limits come from the
// settings. Pure.
import { relative, sep } from 'node:path';
import { taskPrompt, type AnalysisTask } from './analysisTasks';

export type AnalysisSource =
  | { type: 'sqlite'; path: string; table?: string; query?: string; key: string }
  | { type: 'postgres'; url: string; table?: string; query?: string; key: string }
  | { type: 'file'; path: string; key?: string };

export interface AnalysisAnswers {
  name: string;
  source: AnalysisSource;
  /** Fields rendered into each record's prompt. */
  fields: string[];
  task: AnalysisTask;
  model: string;
  baseUrl: string;
  limits: { concurrency: number; rpm: number | null; tpm: number | null; budgetUsd: number | null };
}

export const jobNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** A job name from free text: `Feedback (2024)` + `sentiment` → `feedback-2024-sentiment`. */
export function suggestJobName(...parts: string[]): string {
  const slug = parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-_.]+|[-_.]+$/g, '');
  return (slug || 'analysis').slice(0, 100);
}

export function promptTemplate(fields: readonly string[]): string {
  if (fields.length === 1) return `{{${fields[0]}}}`;
  return fields.map((field) => `${field}: {{${field}}}`).join('\n');
}

function relativePath(specDir: string, path: string): string {
  const inside = relative(specDir, path);
  return inside.split(sep).join('/');
}

export function buildAnalysisSpec(answers: AnalysisAnswers, specDir: string): Record<string, unknown> {
  const { source } = answers;
  const specSource =
    source.type === 'postgres'
      ? source
      : source.type === 'sqlite'
        ? { ...source, path: relativePath(specDir, source.path) }
        : { ...source, path: relativePath(specDir, source.path) };
  const { system, output } = taskPrompt(answers.task);
  const limits: Record<string, number> = { concurrency: answers.limits.concurrency };
  if (answers.limits.rpm !== null) limits.rpm = answers.limits.rpm;
  if (answers.limits.tpm !== null) limits.tpm = answers.limits.tpm;
  if (answers.limits.budgetUsd !== null) limits.budgetUsd = answers.limits.budgetUsd;
  return {
    name: answers.name,
    source: specSource,
    prompt: { system, template: promptTemplate(answers.fields) },
    output,
    model: answers.model,
    provider: { baseUrl: answers.baseUrl },
    limits,
    sink: { type: 'jsonl', path: `${answers.name}.results.jsonl` },
  };
}
