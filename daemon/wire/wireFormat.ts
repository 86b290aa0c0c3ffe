// The wire format for several records in one chat request, shared by the engine (which
// builds requests and reads answers) and the mock LLM (which plays the model). A leaf module.
import { z } from 'zod';

/** The last user message: `{"records":[{"id":"<key>","input":"<rendered template>"}, …]}`. */
export const wireRecordsSchema = z.object({
  records: z.array(z.object({ id: z.string(), input: z.string() })),
});
export type WireRecords = z.infer<typeof wireRecordsSchema>;

/** The answer: `{"results":[{"id":"<key>", …output fields}]}` (a bare array is accepted too). */
export const wireResultsSchema = z.object({
  results: z.array(z.object({ id: z.union([z.string(), z.number()]) }).loose()),
});
export type WireResults = z.infer<typeof wireResultsSchema>;

/**
 * The `response_format` JSON Schema for a batch: an object with `results`, an array of the
 * record's output object plus its `id`.
 */
export function batchResponseSchema(output: Record<string, unknown>): Record<string, unknown> {
  const properties = (output.properties as Record<string, unknown> | undefined) ?? {};
  const required = Array.isArray(output.required) ? (output.required as string[]) : Object.keys(properties);
  return {
    type: 'object',
    properties: {
      results: {
        type: 'array',
        items: {
          ...output,
          type: 'object',
          properties: { id: { type: 'string' }, ...properties },
          required: ['id', ...required.filter((name) => name !== 'id')],
          additionalProperties: false,
        },
      },
    },
    required: ['results'],
    additionalProperties: false,
  };
}
