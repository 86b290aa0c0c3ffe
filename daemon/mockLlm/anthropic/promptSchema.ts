// Anthropic has no response_format: a client that wants JSON of a schema says so in the
// system prompt. The mock reads the schema Drover's prompt ends with ("… the fields of this
// JSON Schema: {…}") and answers in its shape, as a model following the prompt would.
import { batchResponseSchema } from '../../wire/wireFormat';
import { type ResponseFormat } from '../chatRequest';

const marker = 'JSON Schema: ';

export function formatFromSystemPrompt(system: string): ResponseFormat | undefined {
  const at = system.lastIndexOf(marker);
  if (at === -1) return undefined;
  try {
    const schema: unknown = JSON.parse(system.slice(at + marker.length).trim());
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return undefined;
    return { type: 'json_schema', json_schema: { name: 'prompt_schema', schema: batchResponseSchema(schema as Record<string, unknown>) } };
  } catch {
    return undefined;
  }
}
