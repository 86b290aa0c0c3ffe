// The JSON shapes of a chat completion and of its streamed chunks, as OpenAI sends them.

export type FinishReason = 'stop' | 'length';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface CompletionHeader {
  id: string;
  created: number;
  model: string;
}

export const systemFingerprint = 'fp_drover_mock';

export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

export function completionBody(header: CompletionHeader, content: string, finishReason: FinishReason, usage: Usage) {
  return {
    id: header.id,
    object: 'chat.completion',
    created: header.created,
    model: header.model,
    system_fingerprint: systemFingerprint,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null },
        logprobs: null,
        finish_reason: finishReason,
      },
    ],
    usage,
  };
}

export interface ChunkDelta {
  role?: 'assistant';
  content?: string;
}

/** One `chat.completion.chunk`; `usage` is null on every chunk but the last when usage is asked for. */
export function chunkBody(
  header: CompletionHeader,
  delta: ChunkDelta,
  finishReason: FinishReason | null,
  withUsageField: boolean,
) {
  return {
    id: header.id,
    object: 'chat.completion.chunk',
    created: header.created,
    model: header.model,
    system_fingerprint: systemFingerprint,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(withUsageField ? { usage: null } : {}),
  };
}

export function usageChunkBody(header: CompletionHeader, usage: Usage) {
  return {
    id: header.id,
    object: 'chat.completion.chunk',
    created: header.created,
    model: header.model,
    system_fingerprint: systemFingerprint,
    choices: [],
    usage,
  };
}
