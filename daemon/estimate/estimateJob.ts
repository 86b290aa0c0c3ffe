// Estimates a job before it runs: reads the source (whole, or a stated sample when it is
// large), renders and tokenizes each record the way the engine will, packs them the way
// the engine will, and prices the result for the chosen model and the alternatives.
import { priceForMode, priceTable } from '../cost/prices';
import { expectedAnswerTokens } from '../pipeline/outputSchema';
import { Packer } from '../pipeline/packer';
import { RequestBuilder, wireItem, type WireItem } from '../pipeline/requestBuilder';
import type { JobEstimate, ModelCost, PreviewRecord } from '../protocol/estimate';
import { openSource } from '../sources/openSource';
import type { RecordSource, SourceItem } from '../sources/source';
import { compileTemplate } from '../sources/template';
import type { JobSpec } from '../spec/jobSpec';
import { tokenizerFor } from '../tokens/tokenizer';

export interface EstimateOptions {
  /** Records read when the source is too large to scan whole. */
  sampleSize?: number;
  /** Sources up to this many records are scanned whole. */
  fullScanLimit?: number;
  signal?: AbortSignal;
}

/** The limiter admits a little under each limit (see limits/tokenBucket.ts). */
const utilisation = 0.97;

async function* firstRecords(source: RecordSource, limit: number, signal?: AbortSignal): AsyncGenerator<SourceItem> {
  let read = 0;
  for await (const item of source.read({ signal })) {
    if (read >= limit) return;
    read += 1;
    yield item;
  }
}

export function modelCosts(spec: JobSpec, promptTokens: number, outputTokens: number): ModelCost[] {
  const models = new Set([spec.model, ...Object.keys(priceTable).filter((model) => model !== 'mock-analyst'), ...Object.keys(spec.prices)]);
  return [...models]
    .map((model) => {
      const price = priceForMode(model, spec.prices, spec.mode);
      return {
        model,
        inputPerMTok: price?.inputPerMTok ?? null,
        outputPerMTok: price?.outputPerMTok ?? null,
        costUsd: price ? (promptTokens * price.inputPerMTok + outputTokens * price.outputPerMTok) / 1e6 : null,
        chosen: model === spec.model,
      };
    })
    .sort((a, b) => (a.chosen ? -1 : b.chosen ? 1 : (a.costUsd ?? Infinity) - (b.costUsd ?? Infinity)));
}

export function expectedDuration(spec: JobSpec, requests: number, limiterTokens: number): JobEstimate['duration'] {
  if (spec.mode === 'batch') {
    return { seconds: null, limitedBy: 'none', note: `batch mode: the provider answers within the ${spec.batch.completionWindow} completion window, often much sooner; limits.rpm and limits.tpm do not apply` };
  }
  const { rpm, tpm } = spec.limits;
  const byRequests = rpm ? (requests / (rpm * utilisation)) * 60 : 0;
  const byTokens = tpm ? (limiterTokens / (tpm * utilisation)) * 60 : 0;
  if (!rpm && !tpm) {
    return { seconds: null, limitedBy: 'none', note: 'no limits.rpm or limits.tpm in the spec: the duration depends on the provider and limits.concurrency' };
  }
  const limitedBy = byTokens > byRequests ? 'tpm' : 'rpm';
  return {
    seconds: Math.max(byRequests, byTokens),
    limitedBy,
    note: `at ${rpm ? `${rpm} requests/min` : 'no request limit'} and ${tpm ? `${tpm} tokens/min` : 'no token limit'} (tokens counted as prompt + max_tokens, as providers do)`,
  };
}

export async function estimateJob(spec: JobSpec, options: EstimateOptions = {}): Promise<JobEstimate> {
  const sampleSize = options.sampleSize ?? 5000;
  const fullScanLimit = options.fullScanLimit ?? 200_000;
  const tokenizer = tokenizerFor(spec.model);
  const template = compileTemplate(spec.prompt.template);
  const builder = new RequestBuilder(spec, tokenizer);
  const source = await openSource(spec.source);
  try {
    const count = await source.count(options.signal);
    let basis: JobEstimate['records']['basis'] = 'all';
    let items: AsyncIterable<SourceItem> = source.read({ signal: options.signal });
    if (count.total > fullScanLimit) {
      basis = source.sample ? 'random' : 'first';
      items = source.sample ? source.sample(sampleSize, options.signal) : firstRecords(source, sampleSize, options.signal);
    }

    const room = spec.batching.maxPromptTokens - builder.overheadTokens;
    const packer = new Packer<{ wire: WireItem }>({ ...spec.batching, overheadTokens: builder.overheadTokens });
    const batchSizes: number[] = [];
    const tally = { scanned: 0, malformed: 0, templateErrors: 0, oversize: 0, inputTokens: 0 };
    const closeBatches = (batches: { wire: WireItem }[][]) => {
      for (const batch of batches) batchSizes.push(batch.length);
    };
    for await (const item of items) {
      tally.scanned += 1;
      if (item.kind === 'malformed') {
        tally.malformed += 1;
        continue;
      }
      let input: string;
      try {
        input = template.render(item.fields, `record ${item.key}`);
      } catch {
        tally.templateErrors += 1;
        continue;
      }
      const wire = wireItem(item.key, input, tokenizer);
      if (wire.tokens > room) {
        tally.oversize += 1;
        if (spec.batching.oversize === 'fail') continue;
        wire.tokens = room;
      }
      tally.inputTokens += wire.tokens;
      closeBatches(packer.add({ wire }));
    }
    const last = packer.flush();
    if (last) closeBatches([last]);

    const scale = tally.scanned > 0 ? count.total / tally.scanned : 0;
    const sent = batchSizes.reduce((a, b) => a + b, 0);
    const requests = Math.ceil(batchSizes.length * scale);
    const promptTokens = Math.round((tally.inputTokens + batchSizes.length * builder.overheadTokens) * scale);
    const outputTokens = Math.round(sent * scale * expectedAnswerTokens(spec.output, tokenizer));
    const perRequestMax = spec.batching.maxOutputTokens ?? Math.ceil(expectedAnswerTokens(spec.output, tokenizer) * 1.3 * spec.batching.recordsPerRequest);
    return {
      jobId: spec.name,
      records: { total: count.total, totalExact: count.exact, scanned: tally.scanned, basis, malformed: Math.round(tally.malformed * scale), templateErrors: Math.round(tally.templateErrors * scale), oversize: Math.round(tally.oversize * scale) },
      tokenizer: { name: tokenizer.name, exact: tokenizer.exact },
      requests,
      tokens: { prompt: promptTokens, output: outputTokens, perRecordInput: sent > 0 ? tally.inputTokens / sent : 0 },
      models: modelCosts(spec, promptTokens, outputTokens),
      pricing: spec.mode,
      duration: expectedDuration(spec, requests, promptTokens + requests * perRequestMax),
    };
  } finally {
    await source.close();
  }
}

/** The first `limit` records as the model would see them, with their tokens and cost. */
export async function previewRecords(spec: JobSpec, limit: number): Promise<PreviewRecord[]> {
  const tokenizer = tokenizerFor(spec.model);
  const template = compileTemplate(spec.prompt.template);
  const price = priceForMode(spec.model, spec.prices, spec.mode);
  const answerTokens = expectedAnswerTokens(spec.output, tokenizer);
  const builder = new RequestBuilder(spec, tokenizer);
  const overheadShare = builder.overheadTokens / spec.batching.recordsPerRequest;
  const source = await openSource(spec.source);
  const preview: PreviewRecord[] = [];
  try {
    for await (const item of firstRecords(source, limit)) {
      const line = item.line ?? null;
      if (item.kind === 'malformed') {
        preview.push({ key: item.key, line, fields: {}, input: null, error: item.reason, inputTokens: 0, estimatedCostUsd: null });
        continue;
      }
      try {
        const input = template.render(item.fields, `record ${item.key}`);
        const tokens = wireItem(item.key, input, tokenizer).tokens;
        const cost = price ? ((tokens + overheadShare) * price.inputPerMTok + answerTokens * price.outputPerMTok) / 1e6 : null;
        preview.push({ key: item.key, line, fields: item.fields, input, error: null, inputTokens: tokens, estimatedCostUsd: cost });
      } catch (error) {
        preview.push({ key: item.key, line, fields: item.fields, input: null, error: error instanceof Error ? error.message : String(error), inputTokens: 0, estimatedCostUsd: null });
      }
    }
  } finally {
    await source.close();
  }
  return preview;
}
