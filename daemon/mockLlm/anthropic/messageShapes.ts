// The JSON of an Anthropic message, as the Messages API (and a batch's results) send it.

export type StopReason = 'end_turn' | 'max_tokens';

export function messageBody(id: string, model: string, text: string, stopReason: StopReason, inputTokens: number, outputTokens: number) {
  return {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text }],
    stop_reason: stopReason,
    stop_sequence: null,
    usage: { input_tokens: inputTokens, output_tokens: outputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  };
}
