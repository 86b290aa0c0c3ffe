// Token counts: a real BPE tokenizer (gpt-tokenizer) for OpenAI-family models, and a
// CJK-aware estimate for everything else, where no public tokenizer matches the model.
import * as cl100k from 'gpt-tokenizer/encoding/cl100k_base';
import * as o200k from 'gpt-tokenizer/encoding/o200k_base';

export interface Tokenizer {
  readonly name: string;
  /** True for a real tokenizer, false for an estimate. */
  readonly exact: boolean;
  count(text: string): number;
  /** The longest prefix of `text` that is at most `maxTokens` tokens. */
  truncate(text: string, maxTokens: number): string;
}

function bpe(name: string, encoding: typeof o200k): Tokenizer {
  return {
    name,
    exact: true,
    count: (text) => encoding.countTokens(text),
    truncate: (text, maxTokens) => {
      const tokens = encoding.encode(text);
      return tokens.length <= maxTokens ? text : encoding.decode(tokens.slice(0, maxTokens));
    },
  };
}

const o200kTokenizer = bpe('o200k_base', o200k);
const cl100kTokenizer = bpe('cl100k_base', cl100k);

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
