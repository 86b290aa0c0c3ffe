// Synthetic, deterministic customer feedback in English and Japanese — for the demo and
// the tests. Row i always gets the same text, so answers can be checked against the mock's
// rule and a resumed run sees exactly the same input.
const openings = ['', 'Honestly, ', 'Update: ', 'Second order. ', 'FYI — ', ''];
const english = [
  'The delivery was fast and the product is great.',
  'Terrible support, I waited two weeks and nobody answered.',
  'It works as described.',
  'I love the new design, very easy to use!',
  'The app keeps crashing, this is awful and broken.',
  'Price is okay, nothing special.',
  'Excellent quality, I would recommend it to friends.',
  'Package arrived damaged and the refund took forever.',
  'Good value for the money, happy with it.',
  'Disappointed: the size was wrong and the fabric feels cheap.',
  'Ordered on Monday, arrived on Thursday.',
  'Customer service was helpful and friendly.',
];
const japanese = [
  '配送が早くて、品質も最高です。',
  'サポートの対応が遅くて最悪でした。',
  '説明どおりに動きます。',
  'デザインが素晴らしい、とても便利です。',
  '届いた時点で壊れていました。返品したいです。',
  '値段は普通だと思います。',
  '期待以上で満足しています。また買いたいです。',
  'サイズが合わず不満です。',
];
const closings = ['', ' Thanks.', ' Order #{n}.', ' (ticket {n})', ' 5 stars', ' Will not buy again.'];

function pick<T>(list: readonly T[], n: number): T {
  return list[n % list.length];
}

/** A stable pseudo-random mix so neighbouring rows differ. */
function mix(i: number, salt: number): number {
  let x = (i * 2654435761 + salt * 40503) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 2246822519) >>> 0;
  x ^= x >>> 13;
  return x >>> 0;
}

export function sampleFeedback(i: number): string {
  const body = mix(i, 1) % 3 === 0 ? pick(japanese, mix(i, 2)) : pick(english, mix(i, 3));
  const text = `${pick(openings, mix(i, 4))}${body}${pick(closings, mix(i, 5)).replace('{n}', String(10_000 + i))}`;
  return text;
}

export const feedbackChannels = ['email', 'app', 'web', 'phone', 'store'] as const;
export const sampleChannel = (i: number) => pick(feedbackChannels, mix(i, 6));
