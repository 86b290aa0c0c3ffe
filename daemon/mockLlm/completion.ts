// The analyst's answer to one request as text: the results (or the single object) for its
// records, with the content faults of its draw applied and max_tokens enforced. Shared by
// the chat-completions and the Anthropic messages routes.
import { type Tokenizer } from '../tokens/tokenizer';
import { answerFor, type WireRecord } from './answer';
import { type ResponseFormat } from './chatRequest';
import { type FinishReason } from './completionShapes';
import { type FaultDraw } from './faults';

export interface Completion {
  content: string;
  finishReason: FinishReason;
  completionTokens: number;
  /** Records whose results arrive intact; none when the content is cut or invalid. */
  answeredIds: readonly string[];
}

export interface AnswerRequest {
  records: readonly WireRecord[];
  format: ResponseFormat | null | undefined;
  tokenizer: Tokenizer;
  maxTokens: number | undefined;
}

/** The analyst's answer, with the content faults applied and max_tokens enforced. */
export function completeAnswer(request: AnswerRequest, draw: FaultDraw): Completion {
  const { tokenizer, maxTokens } = request;
  const answer = answerFor(request.records, request.format);
  let answeredIds = answer.recordIds;
  let content: string;
  if (answer.kind === 'results') {
    let results = answer.results;
    if (draw.fault === 'drop') {
      const dropped = results.length > 1 ? Math.floor(draw.position * results.length) : 0;
      results = results.filter((_, index) => index !== dropped);
      answeredIds = answeredIds.filter((_, index) => index !== dropped);
    }
    content = JSON.stringify({ results });
  } else {
    content = JSON.stringify(answer.value);
  }
  if (draw.fault === 'badJson') {
    // Any proper prefix of a JSON object's text is invalid JSON.
    content = content.slice(0, 1 + Math.floor(draw.position * (content.length - 1)));
    answeredIds = [];
  }
  let finishReason: FinishReason = 'stop';
  let completionTokens = tokenizer.count(content);
  const cutTo =
    draw.fault === 'truncate'
      ? Math.floor(draw.position * completionTokens)
      : maxTokens !== undefined && completionTokens > maxTokens
        ? maxTokens
        : undefined;
  if (cutTo !== undefined) {
    content = tokenizer.truncate(content, cutTo);
    completionTokens = tokenizer.count(content);
    finishReason = 'length';
    answeredIds = [];
  }
  return { content, finishReason, completionTokens, answeredIds };
}

