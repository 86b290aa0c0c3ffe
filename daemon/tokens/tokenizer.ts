// Token counts: a real BPE tokenizer (gpt-tokenizer) for OpenAI-family models, and a
// CJK-aware estimate for everything else, where no public tokenizer matches the model.
import type * as O200k from 'gpt-tokenizer/encoding/o200k_base';

type Encoding = typeof O200k;

export interface Tokenizer {
  readonly name: string;
  /** True for a real tokenizer, false for an estimate. */
  readonly exact: boolean;
  count(text: string): number;
  /** The longest prefix of `text` that is at most `maxTokens` tokens. */
  truncate(text: string, maxTokens: number): string;
}

/**
 * An encoding's tables take tens of megabytes, so each is loaded on first use — `drover
 * --help` and jobs on other models never pay for them.
 */
function bpe(name: string, load: () => Encoding): Tokenizer {
  let encoding: Encoding | undefined;
  const get = () => (encoding ??= load());
  return {
    name,
    exact: true,
    count: (text) => get().countTokens(text),
    truncate: (text, maxTokens) => {
      const tokens = get().encode(text);
      return tokens.length <= maxTokens ? text : get().decode(tokens.slice(0, maxTokens));
    },
  };
}

/* eslint-disable @typescript-eslint/no-require-imports -- a lazy require is what defers loading the tables */
export const o200kTokenizer = bpe('o200k_base', () => require('gpt-tokenizer/encoding/o200k_base') as Encoding);
const cl100kTokenizer = bpe('cl100k_base', () => require('gpt-tokenizer/encoding/cl100k_base') as Encoding);
/* eslint-enable @typescript-eslint/no-require-imports */

// Ideographs, kana and hangul cost about one token each in every modern tokenizer;
// other scripts average about four characters per token.
const wideCharacter = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]/gu;

export const estimatingTokenizer: Tokenizer = {
  name: 'estimate',
  exact: false,
  count(text) {
    const wide = text.match(wideCharacter)?.length ?? 0;
    return wide + Math.ceil((text.length - wide) / 4);
  },
  truncate(text, maxTokens) {
    if (this.count(text) <= maxTokens) return text;
    let low = 0;
    let high = text.length;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (this.count(text.slice(0, middle)) <= maxTokens) low = middle;
      else high = middle - 1;
    }
    return text.slice(0, low);
  },
};

export function tokenizerFor(model: string): Tokenizer {
  const name = model.toLowerCase().replace(/^.*\//, '');
  if (/^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o\d|chatgpt-4o|gpt-oss|mock-)/.test(name)) return o200kTokenizer;
  if (/^(gpt-4|gpt-3\.5|text-embedding)/.test(name)) return cl100kTokenizer;
  return estimatingTokenizer;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

// OpenAI's documented accounting: every message carries 3 tokens of framing and every
// reply is primed with 3 more.
const tokensPerMessage = 3;
const tokensPerReply = 3;

export function countChatTokens(tokenizer: Tokenizer, messages: readonly ChatMessage[]): number {
  let total = tokensPerReply;
  for (const message of messages) total += tokensPerMessage + tokenizer.count(message.content);
  return total;
}
