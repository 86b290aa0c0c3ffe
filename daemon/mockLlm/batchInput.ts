// Validates a batch input file the way OpenAI's "validating" step does: the request count
// limit, then each line — JSON, a unique custom_id, POST to the batch's endpoint, a body.
export interface BatchInputLine {
  customId: string;
  body: unknown;
}

export interface BatchInputError {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

export type BatchInput = { ok: true; lines: BatchInputLine[] } | { ok: false; errors: BatchInputError[] };

const maxErrors = 10;

export function readBatchInput(text: string, endpoint: string, maxRequests: number): BatchInput {
  const rows = text.split('\n').filter((row) => row.trim() !== '');
  if (rows.length === 0) return { ok: false, errors: [{ code: 'empty_file', message: 'The input file is empty.', param: null, line: null }] };
  if (rows.length > maxRequests) {
    return {
      ok: false,
      errors: [{ code: 'too_many_requests', message: `The input file has ${rows.length} requests; a batch may hold at most ${maxRequests}.`, param: null, line: null }],
    };
  }
  const errors: BatchInputError[] = [];
  const seen = new Set<string>();
  const lines: BatchInputLine[] = [];
  rows.forEach((row, index) => {
    if (errors.length >= maxErrors) return;
    const line = index + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(row);
    } catch {
      errors.push({ code: 'invalid_json_line', message: 'This line is not parseable as valid JSON.', param: null, line });
      return;
    }
    const record = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    const customId = record.custom_id;
    if (typeof customId !== 'string' || customId === '') {
      errors.push({ code: 'missing_required_parameter', message: 'Missing required parameter: custom_id.', param: 'custom_id', line });
    } else if (seen.has(customId)) {
      errors.push({ code: 'duplicate_custom_id', message: `The custom_id "${customId}" is used more than once; custom_ids must be unique within a batch.`, param: 'custom_id', line });
    } else if (record.method !== 'POST') {
      errors.push({ code: 'invalid_method', message: 'Only POST is supported for batch requests.', param: 'method', line });
    } else if (record.url !== endpoint) {
      errors.push({ code: 'mismatched_endpoint', message: `The url "${String(record.url)}" does not match the batch's endpoint ${endpoint}.`, param: 'url', line });
    } else if (typeof record.body !== 'object' || record.body === null) {
      errors.push({ code: 'missing_required_parameter', message: 'Missing required parameter: body.', param: 'body', line });
    } else {
      seen.add(customId);
      lines.push({ customId, body: record.body });
    }
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, lines };
}
