// The mock's Batch API routes: /v1/files (multipart upload with purpose "batch", the file
// object, its content) and /v1/batches (create, list, retrieve, cancel), with OpenAI's
// shapes and its input limits (--batch-max-requests, --batch-max-file-bytes).
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { invalidRequest, payloadTooLarge } from './errors';
import { fileObject, fileTooLarge } from './fileStore';
import { readJsonBody, sendJson } from './httpIo';
import type { MockContext } from './mockContext';

/** Multipart framing around the file: the upload may be this much larger than the file. */
const multipartSlack = 64 * 1024;

const createBatchSchema = z
  .object({
    input_file_id: z.string().min(1),
    endpoint: z.enum(['/v1/chat/completions', '/v1/responses', '/v1/embeddings', '/v1/completions']),
    completion_window: z.literal('24h'),
    metadata: z.record(z.string(), z.string()).nullish(),
  })
  .loose();

async function readUpload(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit + multipartSlack) throw fileTooLarge(declared, limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit + multipartSlack) throw payloadTooLarge(limit + multipartSlack);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function uploadFile(context: MockContext, request: IncomingMessage): Promise<unknown> {
  const contentType = request.headers['content-type'] ?? '';
  if (!contentType.startsWith('multipart/form-data')) {
    throw invalidRequest('Invalid file format: the upload must be multipart/form-data with "file" and "purpose".', 'file');
  }
  const limit = context.options.batchMaxFileBytes;
  const body = await readUpload(request, limit);
  let form: FormData;
  try {
    form = await new Request('http://mock.invalid/v1/files', { method: 'POST', headers: { 'content-type': contentType }, body: Uint8Array.from(body) }).formData();
  } catch {
    throw invalidRequest('Could not parse the multipart body.', 'file');
  }
  const purpose = form.get('purpose');
  const file = form.get('file');
  if (typeof purpose !== 'string' || purpose === '') throw invalidRequest("Missing required parameter: 'purpose'.", 'purpose', 'missing_required_parameter');
  if (purpose !== 'batch') throw invalidRequest(`'${purpose}' is not one of ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'] - 'purpose'. This mock keeps only "batch" files.`, 'purpose');
  if (file === null || typeof file === 'string') throw invalidRequest("Missing required parameter: 'file'.", 'file', 'missing_required_parameter');
  const bytes = Buffer.from(await file.arrayBuffer());
  if (bytes.length > limit) throw fileTooLarge(bytes.length, limit);
  if (!file.name.endsWith('.jsonl')) throw invalidRequest('Invalid file format for Batch API. Must be .jsonl', 'file');
  const stored = context.files.add({ id: context.nextId('file-'), bytes, filename: file.name, purpose, createdAt: Math.floor(Date.now() / 1000) });
  context.stats.batches.filesUploaded += 1;
  return fileObject(stored);
}

async function createBatch(context: MockContext, request: IncomingMessage): Promise<unknown> {
  const parsed = createBatchSchema.safeParse(await readJsonBody(request));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalidRequest(`Invalid value for '${issue?.path.join('.') ?? 'body'}': ${issue?.message ?? 'invalid'}`, issue?.path.join('.') ?? null);
  }
  const input = context.files.get(parsed.data.input_file_id);
  if (input.purpose !== 'batch') throw invalidRequest(`File ${input.id} has purpose '${input.purpose}'; a batch needs a file with purpose 'batch'.`, 'input_file_id');
  return context.batches.create(input.id, parsed.data.endpoint, parsed.data.completion_window, parsed.data.metadata ?? null);
}

/** True when the route was a Batch API route (answered, or thrown as an ApiError). */
export async function routeBatchApi(context: MockContext, request: IncomingMessage, response: ServerResponse, method: string, url: URL): Promise<boolean> {
  const path = url.pathname;
  const send = (body: unknown) => sendJson(response, 200, body, context.responseHeaders());
  const fileMatch = /^\/v1\/files\/([^/]+)(\/content)?$/.exec(path);
  const batchMatch = /^\/v1\/batches\/([^/]+)(\/cancel)?$/.exec(path);
  if (method === 'POST' && path === '/v1/files') {
    send(await uploadFile(context, request));
  } else if (method === 'GET' && fileMatch && !fileMatch[2]) {
    send(fileObject(context.files.get(decodeURIComponent(fileMatch[1]))));
  } else if (method === 'GET' && fileMatch) {
    const file = context.files.get(decodeURIComponent(fileMatch[1]));
    response.writeHead(200, { ...context.responseHeaders(), 'content-type': 'application/octet-stream', 'content-length': file.bytes.length });
    response.end(file.bytes);
  } else if (method === 'POST' && path === '/v1/batches') {
    send(await createBatch(context, request));
  } else if (method === 'GET' && path === '/v1/batches') {
    const limit = Math.min(100, Math.max(1, Number(url.searchParams.get('limit') ?? 20) || 20));
    send(context.batches.list(limit, url.searchParams.get('after') ?? undefined));
  } else if (method === 'GET' && batchMatch && !batchMatch[2]) {
    context.stats.batches.retrieved += 1;
    send(context.batches.retrieve(decodeURIComponent(batchMatch[1])));
  } else if (method === 'POST' && batchMatch) {
    send(context.batches.cancel(decodeURIComponent(batchMatch[1])));
  } else {
    return false;
  }
  return true;
}
