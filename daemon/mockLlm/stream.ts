// Server-sent events for `stream: true`: the role first, the content in small deltas, the
// finish reason, the usage chunk when asked for, then `[DONE]`.
import { type ServerResponse } from 'node:http';
import { chunkBody, type CompletionHeader, type FinishReason, type Usage, usageChunkBody } from './completionShapes';
import { sleep } from './httpIo';

const charactersPerDelta = 32;

/** Splits text into deltas without separating the halves of a surrogate pair. */
export function contentDeltas(text: string): string[] {
  const deltas: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + charactersPerDelta);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end++;
    deltas.push(text.slice(start, end));
    start = end;
  }
  return deltas;
}

export interface StreamedAnswer {
  header: CompletionHeader;
  content: string;
  finishReason: FinishReason;
  usage: Usage;
  includeUsage: boolean;
  /** Spread over the content deltas, so a slow model also streams slowly. */
  contentDelayMs: number;
}

function event(response: ServerResponse, body: unknown): void {
  response.write(`data: ${JSON.stringify(body)}\n\n`);
}

/** Returns false when the server stopped mid-stream. */
export async function streamAnswer(
  response: ServerResponse,
  answer: StreamedAnswer,
  headers: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<boolean> {
  const { header, includeUsage } = answer;
  response.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  event(response, chunkBody(header, { role: 'assistant', content: '' }, null, includeUsage));
  const deltas = contentDeltas(answer.content);
  const perDeltaMs = answer.contentDelayMs / Math.max(1, deltas.length);
  for (const content of deltas) {
    if (!(await sleep(perDeltaMs, signal))) return false;
    event(response, chunkBody(header, { content }, null, includeUsage));
  }
  event(response, chunkBody(header, {}, answer.finishReason, includeUsage));
  if (includeUsage) event(response, usageChunkBody(header, answer.usage));
  response.end('data: [DONE]\n\n');
  return true;
}
