// The JSON Schema contributed to VS Code for `*.drover.json`, derived from the zod spec.
import { z } from 'zod';
import { jobSpecSchema } from './jobSpec';

export function jobSpecJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(jobSpecSchema, { target: 'draft-7', io: 'input', unrepresentable: 'any' }),
    title: 'Drover job spec',
  };
}
