// The tasks Run Analysis offers: the built-in sentiment, classification and extraction
// templates, or a prompt and output schema of the user's own. Each becomes the spec's
// system prompt and output schema. Pure.
import { defaultOutputSchema, defaultSystemPrompt } from '../../daemon/spec/jobSpec';

export type AnalysisTask =
  | { kind: 'sentiment' }
  | { kind: 'classification'; labels: string[] }
  | { kind: 'extraction'; fields: string[] }
  | { kind: 'custom'; system: string; output: Record<string, unknown> };

export interface TaskPrompt {
  system: string;
  output: Record<string, unknown>;
}

export const taskLabels: Record<AnalysisTask['kind'], { label: string; detail: string }> = {
  sentiment: { label: 'Sentiment', detail: 'positive / negative / neutral with a 0–100 score' },
  classification: { label: 'Classification', detail: 'one category per record, from labels you give' },
  extraction: { label: 'Extraction', detail: 'named fields pulled out of each record (null when absent)' },
  custom: { label: 'Custom prompt', detail: 'your own instructions and output JSON Schema' },
};

/** `a, b ,c` → ['a', 'b', 'c']: trimmed, no empties, no repeats. */
export function splitList(text: string): string[] {
  return [...new Set(text.split(',').map((part) => part.trim()).filter((part) => part.length > 0))];
}

export function taskPrompt(task: AnalysisTask): TaskPrompt {
  switch (task.kind) {
    case 'sentiment':
      return { system: defaultSystemPrompt, output: structuredClone(defaultOutputSchema) };
    case 'classification':
      return {
        system:
          `You classify records. For each record, choose exactly one category from: ${task.labels.join(', ')}. ` +
          'Give your confidence from 0 (a guess) to 100 (certain).',
        output: {
          type: 'object',
          properties: { category: { type: 'string', enum: task.labels }, confidence: { type: 'integer', minimum: 0, maximum: 100 } },
          required: ['category', 'confidence'],
          additionalProperties: false,
        },
      };
    case 'extraction':
      return {
        system: `You extract information from records. For each record, give these fields: ${task.fields.join(', ')}. Use null for a field the record does not mention; do not guess.`,
        output: {
          type: 'object',
          properties: Object.fromEntries(task.fields.map((field) => [field, { type: ['string', 'null'] }])),
          required: task.fields,
          additionalProperties: false,
        },
      };
    case 'custom':
      return { system: task.system, output: task.output };
  }
}

/** Checks a custom output schema typed into an input box; a message for the box, or undefined. */
export function outputSchemaProblem(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `Not valid JSON: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'The output schema must be a JSON object';
  const { type, properties } = value as { type?: unknown; properties?: unknown };
  if (type !== 'object' || typeof properties !== 'object' || properties === null) {
    return 'The output schema must describe an object with properties: { "type": "object", "properties": { … } }';
  }
  return undefined;
}
