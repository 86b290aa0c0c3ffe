import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { analyseSentiment, countSentimentWords } from '../../daemon/mockLlm/analyst';
import { answerFor } from '../../daemon/mockLlm/answer';
import { answerRecord } from '../../daemon/mockLlm/schemaAnswer';
import { defaultOutputSchema } from '../../daemon/spec/jobSpec';
import { batchResponseSchema } from '../../daemon/wire/wireFormat';

// The documented rule, restated: the oracle the engine tests rely on.
const expectedScore = (positive: number, negative: number) =>
  Math.round(50 + (50 * (positive - negative)) / (positive + negative + 1));

function validator(schema: Record<string, unknown>) {
  const ajv = new Ajv({ strict: true, allErrors: true });
  ajv.addFormat('email', /^[^@\s]+@[^@\s]+\.[a-z]+$/);
  ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
  const validate = ajv.compile(schema);
  return (value: unknown) => {
    const valid = validate(value);
    assert.ok(valid, `${JSON.stringify(value)}: ${ajv.errorsText(validate.errors)}`);
  };
}

const records = [
  { id: 'r1', input: 'Great product, I love it. Shipping was fast.' },
  { id: 'r2', input: 'Terrible. It arrived broken and the refund took weeks.' },
  { id: 'r3', input: 'It is a chair.' },
  { id: 'r4', input: '配送が遅いし、箱が壊れていた。返品します。' },
  { id: 'r5', input: 'この商品は最高です！とても便利で満足しています。' },
  { id: 'r6', input: '' },
];

describe('mock LLM analyst: sentiment', () => {
  it('counts English words whole and case-insensitively', () => {
    assert.deepEqual(countSentimentWords('GOOD, good; Good!'), { positive: 3, negative: 0 });
    assert.deepEqual(countSentimentWords('goodness badly greatest'), { positive: 0, negative: 0 });
    assert.deepEqual(countSentimentWords('great but slow'), { positive: 1, negative: 1 });
  });

  it('counts Japanese words as substrings, every occurrence', () => {
    assert.deepEqual(countSentimentWords('最高！本当に最高。'), { positive: 2, negative: 0 });
    assert.deepEqual(countSentimentWords('配送が遅いし壊れていた'), { positive: 0, negative: 2 });
  });

  it('labels by which side has more hits and scores by the documented rule', () => {
    for (const { input } of records) {
      const { positive, negative } = countSentimentWords(input);
      const analysis = analyseSentiment(input);
      const label = positive > negative ? 'positive' : negative > positive ? 'negative' : 'neutral';
      assert.equal(analysis.sentiment, label, input);
      assert.equal(analysis.score, expectedScore(positive, negative), input);
      assert.ok(analysis.score >= 0 && analysis.score <= 100);
    }
    assert.equal(analyseSentiment('It is a chair.').score, 50);
    assert.equal(analyseSentiment('love').sentiment, 'positive');
    assert.equal(analyseSentiment('返品').sentiment, 'negative');
    assert.ok(analyseSentiment('great great great').score > analyseSentiment('great').score);
  });
});

describe('mock LLM analyst: answers that conform to the schema', () => {
  it('answers the default sentiment batch schema with the labels, in record order', () => {
    const schema = batchResponseSchema({ ...defaultOutputSchema });
    const answer = answerFor(records, { type: 'json_schema', json_schema: { name: 'batch', schema, strict: true } });
    assert.equal(answer.kind, 'results');
    if (answer.kind !== 'results') return;
    validator(schema)({ results: answer.results });
    assert.deepEqual(
      answer.results.map((item) => item.id),
      records.map((record) => record.id),
    );
    for (const [index, record] of records.entries()) {
      assert.deepEqual(answer.results[index], { id: record.id, ...analyseSentiment(record.input) });
    }
  });

  it('answers a classification schema: a mentioned enum value, a scaled confidence, a boolean', () => {
    const output = {
      type: 'object',
      properties: {
        category: { type: 'string', enum: ['billing', 'shipping', 'product', 'other'] },
        tone: { type: 'string', enum: ['Positive', 'Negative', 'Neutral'] },
        confidence: { type: 'number', minimum: 0, maximum: 1 },
        priority: { type: 'integer', minimum: 1, maximum: 5 },
        urgent: { type: 'boolean' },
      },
      required: ['category', 'tone', 'confidence', 'priority', 'urgent'],
      additionalProperties: false,
    };
    const schema = batchResponseSchema(output);
    const format = { type: 'json_schema' as const, json_schema: { name: 'classify', schema } };
    const answer = answerFor(records, format);
    assert.equal(answer.kind, 'results');
    if (answer.kind !== 'results') return;
    validator(schema)({ results: answer.results });
    const first = answer.results[0];
    assert.equal(first.category, 'shipping', 'the input mentions shipping');
    assert.equal(first.tone, 'Positive', 'the sentiment label in the enum own spelling');
    assert.equal(first.confidence, analyseSentiment(records[0].input).score / 100);
    assert.equal(answer.results[1].tone, 'Negative');
    assert.equal(answer.results[2].tone, 'Neutral');
    assert.deepEqual(answerFor(records, format), answer, 'the same records give the same answer');
  });

  it('answers a nested extraction schema: objects, arrays, lengths, nullable and formats', () => {
    const output = {
      type: 'object',
      properties: {
        customer: {
          type: 'object',
          properties: {
            name: { type: 'string', minLength: 3, maxLength: 12 },
            email: { type: 'string', format: 'email' },
          },
          required: ['name', 'email'],
          additionalProperties: false,
        },
        products: {
          type: 'array',
          minItems: 2,
          maxItems: 3,
          items: {
            type: 'object',
            properties: { name: { type: 'string' }, quantity: { type: 'integer', minimum: 1, maximum: 9 } },
            required: ['name', 'quantity'],
            additionalProperties: false,
          },
        },
        tags: { type: 'array', items: { type: 'string', maxLength: 10 }, minItems: 1 },
        rating: { type: 'integer', exclusiveMinimum: 0, maximum: 5 },
        kind: { const: 'review' },
        language: { anyOf: [{ type: 'null' }, { type: 'string', enum: ['en', 'ja'] }] },
        note: { type: ['string', 'null'], minLength: 40 },
        orderedOn: { type: 'string', format: 'date' },
        summary: { type: 'string', minLength: 20, maxLength: 25 },
      },
      required: ['customer', 'products', 'tags', 'rating', 'kind', 'language', 'note', 'orderedOn', 'summary'],
      additionalProperties: false,
    };
    const schema = batchResponseSchema(output);
    const answer = answerFor(records, { type: 'json_schema', json_schema: { name: 'extract', schema } });
    assert.equal(answer.kind, 'results');
    if (answer.kind !== 'results') return;
    validator(schema)({ results: answer.results });
    const [first, second] = answer.results;
    assert.equal((first.products as unknown[]).length, 2, 'minItems when there is no reason for more');
    assert.equal(first.kind, 'review');
    assert.equal(second.language, 'en', '"broken" contains "en": enum values match as substrings');
    assert.equal((first.customer as { name: string }).name, records[0].input.slice(0, 12), 'an excerpt cut to maxLength');
  });

  it('counts string lengths in code points and resolves $ref against the root', () => {
    const root = {
      $defs: { short: { type: 'string', minLength: 2, maxLength: 3 } },
      type: 'object',
      properties: { word: { $ref: '#/$defs/short' } },
      required: ['word'],
      additionalProperties: false,
    };
    const value = answerRecord(root, {
      id: 'e',
      input: '😀😀😀😀😀',
      analysis: analyseSentiment(''),
    });
    validator(root)(value);
    assert.deepEqual(value, { word: '😀😀😀' }, 'three emoji, not six UTF-16 units, and no id where none is allowed');
  });

  it('bottoms out a recursive schema', () => {
    const root = {
      $defs: {
        node: {
          type: 'object',
          properties: {
            label: { type: 'string' },
            children: { type: 'array', items: { $ref: '#/$defs/node' } },
            parent: { anyOf: [{ $ref: '#/$defs/node' }, { type: 'null' }] },
          },
          required: ['label', 'children', 'parent'],
          additionalProperties: false,
        },
      },
      $ref: '#/$defs/node',
    };
    const value = answerRecord(root, { id: 't', input: 'a tree', analysis: analyseSentiment('a tree') });
    validator(root)(value);
    let depth = 0;
    for (let node = value as { children: unknown[] }; node.children.length > 0; node = node.children[0] as typeof node) depth++;
    assert.ok(depth > 0 && depth < 10, `nested ${depth} deep`);
  });

  it('without a json_schema, answers {id, sentiment, score} per record', () => {
    for (const format of [undefined, { type: 'json_object' as const }, { type: 'text' as const }]) {
      const answer = answerFor(records.slice(0, 2), format);
      assert.equal(answer.kind, 'results');
      if (answer.kind !== 'results') continue;
      assert.deepEqual(answer.results, [
        { id: 'r1', ...analyseSentiment(records[0].input) },
        { id: 'r2', ...analyseSentiment(records[1].input) },
      ]);
    }
  });
});
