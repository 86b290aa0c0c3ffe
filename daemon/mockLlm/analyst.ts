// The deterministic "analyst model": a sentiment rule simple enough that engine tests can
// use it as their oracle. English words match whole and case-insensitively; Japanese has
// no word breaks, so its words match as substrings.

export type Sentiment = 'positive' | 'negative' | 'neutral';

export interface SentimentAnalysis {
  sentiment: Sentiment;
  /** 0 (very negative) to 100 (very positive); exactly 50 when neutral. */
  score: number;
}

export const sentimentLabels: readonly Sentiment[] = ['positive', 'negative', 'neutral'];

const englishPositive = new Set([
  'good', 'great', 'excellent', 'amazing', 'awesome', 'love', 'loved', 'perfect', 'wonderful', 'fantastic',
  'happy', 'best', 'recommend', 'helpful', 'nice', 'satisfied', 'pleased', 'reliable', 'easy', 'fast',
]);
const englishNegative = new Set([
  'bad', 'terrible', 'awful', 'horrible', 'hate', 'hated', 'poor', 'worst', 'broken', 'broke',
  'slow', 'disappointed', 'disappointing', 'useless', 'refund', 'defective', 'annoying', 'expensive', 'rude', 'crashed',
]);
const japanesePositive = [
  '最高', '素晴らしい', '満足', '便利', '好き', '嬉しい', 'うれしい', '快適', '丁寧', '感謝',
  'おすすめ', 'お勧め', '安心', '完璧', '美味しい', 'おいしい', '使いやすい', '気に入', '助か', '優秀',
];
const japaneseNegative = [
  '最悪', '遅い', '壊れ', '不満', '高すぎ', '返品', '残念', '不良', '故障', '使いにくい',
  '不便', '嫌い', 'ひどい', '酷い', 'がっかり', '二度と', '失望', '不具合', '届かない', '返金',
];

const englishWord = /[a-z]+/g;
const nonAscii = /[\u0080-\uffff]/;

function occurrences(text: string, word: string): number {
  let count = 0;
  for (let at = text.indexOf(word); at !== -1; at = text.indexOf(word, at + word.length)) count++;
  return count;
}

/** Every occurrence counts: more positive hits → positive, more negative → negative, else neutral. */
export function countSentimentWords(text: string): { positive: number; negative: number } {
  let positive = 0;
  let negative = 0;
  for (const word of text.toLowerCase().match(englishWord) ?? []) {
    if (englishPositive.has(word)) positive++;
    else if (englishNegative.has(word)) negative++;
  }
  // Most records are ASCII; skip the forty substring scans for them.
  if (nonAscii.test(text)) {
    for (const word of japanesePositive) positive += occurrences(text, word);
    for (const word of japaneseNegative) negative += occurrences(text, word);
  }
  return { positive, negative };
}

/**
 * The score moves from 50 towards 100 (or 0) by the share of the hits that lean that way,
 * damped by one so that a single word does not reach the extreme: 1 positive → 75,
 * 2 → 83, 1 negative → 25, 2 positive and 1 negative → 63.
 */
export function analyseSentiment(text: string): SentimentAnalysis {
  const { positive, negative } = countSentimentWords(text);
  const score = Math.round(50 + (50 * (positive - negative)) / (positive + negative + 1));
  const sentiment: Sentiment = positive > negative ? 'positive' : negative > positive ? 'negative' : 'neutral';
  return { sentiment, score };
}
