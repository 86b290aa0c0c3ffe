// Sends one batch and decides what its outcome means for each record: done, failed,
// retried (alone or as a batch, after a backoff), split in halves, or — for a job-fatal
// error — handed back untouched while the job stops. It never schedules anything itself;
// the runner applies the returned disposition.
import type { JobSpec, Price } from '../spec/jobSpec';
import { costUsd, priceFor } from '../cost/prices';
import type { JobTotals, RecordUpdate } from '../ledger/ledger';
import type { AttemptLedger } from '../ledger/ledgerViews';
import { RequestTooLargeError, type Ticket } from '../limits/admission';
import type { AdmissionControl } from '../limits/admissionControl';
import type { Budget } from '../limits/budget';
import type { Clock } from '../limits/clock';
import type { EndpointRouter, Route } from '../provider/endpointRouter';
import type { Usage } from '../provider/providerApi';
import type { CallOutcome } from '../provider/providerClient';
import { parseBatchAnswer } from './answerParser';
import type { InFlight } from './inFlight';
import { backoffMs } from './backoff';
import { EndpointHealth } from './endpointHealth';
import type { OutputValidator } from './outputSchema';
import type { PendingRecord } from './recordPreparer';
import type { RequestBuilder } from './requestBuilder';
import { apportion } from './usageShares';

export type StopKind = 'user' | 'budget' | 'fatal' | 'cancel';

export interface StopRequest {
  kind: StopKind;
  errorClass: string | null;
  message: string;
}

export interface ErrorNote {
  errorClass: string;
  key: string | null;
  message: string;
  outcome: 'retried' | 'split' | 'failed' | 'fatal';
}

export interface Disposition {
  updates: RecordUpdate[];
  finished: PendingRecord[];
  retry: { batch: PendingRecord[]; delayMs: number }[];
  abandoned: PendingRecord[];
  totals: Partial<JobTotals>;
  errors: ErrorNote[];
  stop?: StopRequest;
}

export interface ExecutorContext {
  spec: JobSpec;
  ledger: AttemptLedger;
  builder: RequestBuilder;
  validator: OutputValidator;
  admission: AdmissionControl;
  budget: Budget;
  router: EndpointRouter;
  clock: Clock;
  answerTokensPerRecord: number;
  /** Aborts waits for admission or budget when the job stops. */
  stopSignal: AbortSignal;
  /** Aborts requests in flight (cancel, or the drain deadline passed). */
  abortSignal: AbortSignal;
  inFlight: InFlight;
  /** How long an endpoint that answered before may fail every request before the job pauses. */
  endpointDownAfterMs: number;
  /** Stops the job at once, before the next queued batch can start. */
  requestStop(stop: StopRequest): void;
}

const emptyDisposition = (): Disposition => ({ updates: [], finished: [], retry: [], abandoned: [], totals: {}, errors: [] });

export class BatchExecutor {
  private readonly health: EndpointHealth;
  private consecutiveBadRequests = 0;
  private overloadedInARow = 0;

  constructor(private readonly context: ExecutorContext) {
    const { concurrency } = context.spec.limits;
    this.health = new EndpointHealth(context.clock, { threshold: Math.max(10, concurrency), downAfterMs: context.endpointDownAfterMs, concurrency });
  }

  maxOutputTokens(records: number, boost: number): number {
    const fixed = this.context.spec.batching.maxOutputTokens;
    if (fixed !== undefined) return fixed;
    return Math.min(32_768, Math.ceil(this.context.answerTokensPerRecord * records * boost) + 16);
  }

  async execute(batch: PendingRecord[]): Promise<Disposition> {
    const result = await this.attempt(batch);
    if (result.stop) this.context.requestStop(result.stop);
    return result;
  }

  private async attempt(batch: PendingRecord[]): Promise<Disposition> {
    const { builder, admission, budget, router, ledger, inFlight, spec } = this.context;
    const result = emptyDisposition();
    const items = batch.map((record) => record.wire);
    const boost = Math.max(...batch.map((record) => record.outputBoost));
    const maxOutput = this.maxOutputTokens(batch.length, boost);
    const promptTokens = builder.promptTokens(items);
    const route = router.pick();
    const price = priceFor(route.model, spec.prices);

    const worstCase = costUsd(price, promptTokens, maxOutput);
    while (!budget.tryReserve(worstCase)) {
      if (inFlight.count === 0 || this.context.stopSignal.aborted) {
        router.release(route);
        result.abandoned = batch;
        result.stop = {
          kind: 'budget',
          errorClass: 'budget',
          message: `Paused before passing the budget of $${spec.limits.budgetUsd ?? 0} (spent $${budget.spentUsd.toFixed(4)}). Raise limits.budgetUsd and resume to go on.`,
        };
        return result;
      }
      await inFlight.settled();
    }

    let ticket: Ticket;
    try {
      ticket = await admission.acquire(promptTokens + maxOutput, this.context.stopSignal, { input: promptTokens, output: maxOutput });
    } catch (error) {
      budget.settle(worstCase, 0);
      router.release(route);
      if (error instanceof RequestTooLargeError) return this.tooLarge(batch, error.message);
      result.abandoned = batch;
      return result;
    }
    if (this.context.stopSignal.aborted) {
      // The job began to stop while this batch was being admitted: nothing more goes out.
      admission.settle(ticket, 0);
      budget.settle(worstCase, 0);
      router.release(route);
      result.abandoned = batch;
      return result;
    }

    const mine = await ledger.markAttempted(batch.map((record) => ({ key: record.key, ordinal: record.ordinal, inputHash: record.inputHash })));
    if (!mine) {
      // A shared ledger gave these records to another worker: sending them would only repeat its work.
      admission.settle(ticket, 0);
      budget.settle(worstCase, 0);
      router.release(route);
      result.abandoned = batch;
      return result;
    }
    for (const record of batch) record.attempts += 1;
    inFlight.count += 1;
    let outcome: CallOutcome;
    try {
      outcome = await route.client.chat(builder.build(route.model, items, maxOutput), this.context.abortSignal);
    } catch (error) {
      // Aborted by a cancel or the drain deadline: the attempt stays counted, nothing else.
      admission.settle(ticket, ticket.tokens);
      budget.settle(worstCase, 0);
      result.abandoned = batch;
      if (!this.context.abortSignal.aborted) throw error;
      return result;
    } finally {
      inFlight.count -= 1;
    }

    const usage = outcome.usage;
    // A 429 or a 529 was not served: whatever it reserved is given back.
    const unserved = !outcome.ok && (outcome.errorClass === 'rate_limited' || outcome.errorClass === 'overloaded');
    if (unserved) admission.settle(ticket, 0, { input: 0, output: 0 });
    else if (usage) admission.settle(ticket, usage.promptTokens + maxOutput, { input: usage.promptTokens, output: usage.completionTokens });
    else admission.settle(ticket, ticket.tokens);
    if (outcome.rateLimits) admission.observe(ticket, outcome.rateLimits);
    const spent = usage ? costUsd(price, usage.promptTokens, usage.completionTokens) : 0;
    budget.settle(worstCase, spent);
    inFlight.notify();
    result.totals = {
      requests: 1,
      promptTokens: usage?.promptTokens ?? 0,
      completionTokens: usage?.completionTokens ?? 0,
      costUsd: spent,
    };
    const shares = this.shares(batch, usage, price);

    if (outcome.ok || outcome.category !== 'retry' || unserved) this.health.answered();
    if (!unserved) this.overloadedInARow = 0;
    if (outcome.ok) {
      router.report(route, false);
      const verdict = parseBatchAnswer(outcome.content, batch.map((record) => record.key), this.context.validator);
      if (!verdict.ok) return this.retryOrFail(result, batch, shares, verdict.errorClass, verdict.reason, 0);
      this.consecutiveBadRequests = 0;
      const again: PendingRecord[] = [];
      verdict.records.forEach((record, index) => {
        const pending = batch[index];
        const share = shares[index];
        if (record.ok) {
          result.updates.push({ ...base(pending), status: 'done', output: record.output, model: route.model, ...share });
          result.finished.push(pending);
        } else if (pending.attempts >= spec.retry.maxAttempts) {
          result.updates.push({ ...base(pending), status: 'failed', errorClass: record.errorClass, error: record.reason, model: route.model, ...share });
          result.finished.push(pending);
          result.errors.push({ errorClass: record.errorClass, key: pending.key, message: record.reason, outcome: 'failed' });
        } else {
          result.updates.push({ ...base(pending), status: 'pending', errorClass: record.errorClass, error: record.reason, ...share });
          result.errors.push({ errorClass: record.errorClass, key: pending.key, message: record.reason, outcome: 'retried' });
          again.push(pending);
        }
      });
      // A record the model left out or got wrong goes again on its own, never with its batch.
      for (const pending of again) {
        result.retry.push({ batch: [pending], delayMs: backoffMs(spec.retry, 1) });
        result.totals.retries = (result.totals.retries ?? 0) + 1;
      }
      return result;
    }

    switch (outcome.category) {
      case 'fatal':
        ledger.unmarkAttempted(batch.map((record) => record.key));
        for (const record of batch) record.attempts -= 1;
        result.abandoned = batch;
        result.errors.push({ errorClass: outcome.errorClass, key: null, message: outcome.message, outcome: 'fatal' });
        result.stop = { kind: 'fatal', errorClass: outcome.errorClass, message: outcome.message };
        return result;
      case 'retry':
        if (outcome.errorClass === 'rate_limited') {
          // A 429 is the limit's doing, not the records': it does not use up their attempts.
          ledger.unmarkAttempted(batch.map((record) => record.key));
          for (const record of batch) record.attempts -= 1;
          const hold = outcome.retryAfterMs ?? outcome.rateLimits?.resetTokensMs ?? outcome.rateLimits?.resetRequestsMs ?? backoffMs(spec.retry, 1);
          admission.holdFor(hold);
          result.totals.rateLimited = 1;
          result.totals.retries = 1;
          result.retry.push({ batch, delayMs: 0 });
          result.errors.push({ errorClass: 'rate_limited', key: null, message: outcome.message, outcome: 'retried' });
          return result;
        }
        if (outcome.errorClass === 'overloaded') return this.backPressure(result, batch, outcome.message, outcome.retryAfterMs);
        router.report(route, true);
        this.health.failed(batch.map((record) => record.key));
        if (this.health.down && router.activeIndex === spec.provider.fallbacks.length) {
          ledger.unmarkAttempted(batch.map((record) => record.key));
          for (const record of batch) record.attempts -= 1;
          result.abandoned = batch;
          const message = `${route.client.endpoint.baseUrl} failed ${this.health.failuresInARow} requests in a row (last: ${outcome.message}). The job is paused; resume it when the endpoint is back.`;
          result.errors.push({ errorClass: outcome.errorClass, key: null, message, outcome: 'fatal' });
          result.stop = { kind: 'fatal', errorClass: 'endpoint_down', message };
          return result;
        }
        if (this.health.outage) return this.waitOutOutage(result, batch, shares, outcome.errorClass, outcome.message, outcome.retryAfterMs ?? 0);
        return this.retryOrFail(result, batch, shares, outcome.errorClass, outcome.message, outcome.retryAfterMs ?? 0);
      case 'split':
        return this.split(result, batch, shares, outcome.errorClass, outcome.message, route);
    }
  }

  /**
   * The provider is overloaded (Anthropic's 529): a pause for everyone — retry-after, else a
   * backoff that grows while 529s keep coming — and the batch goes again whole. Its
   * records' attempts are not used up, and nothing else changes: no split, no emptied
   * buckets, no failover.
   */
  private backPressure(result: Disposition, batch: PendingRecord[], message: string, retryAfterMs: number | undefined): Disposition {
    this.context.ledger.unmarkAttempted(batch.map((record) => record.key));
    for (const record of batch) record.attempts -= 1;
    this.overloadedInARow += 1;
    this.context.admission.pauseFor(retryAfterMs ?? backoffMs(this.context.spec.retry, this.overloadedInARow));
    result.retry.push({ batch, delayMs: 0 });
    result.totals.retries = 1;
    result.errors.push({ errorClass: 'overloaded', key: null, message, outcome: 'retried' });
    return result;
  }

  /** The endpoint is down, not these records: their attempts are not used up, and the batch waits whole. */
  private waitOutOutage(result: Disposition, batch: PendingRecord[], shares: ShareOf[], errorClass: string, message: string, hintMs: number): Disposition {
    this.context.ledger.unmarkAttempted(batch.map((record) => record.key));
    batch.forEach((pending, index) => {
      pending.attempts -= 1;
      this.keepCost(result, pending, shares[index]);
    });
    result.retry.push({ batch, delayMs: backoffMs(this.context.spec.retry, this.health.rounds, hintMs) });
    result.totals.retries = 1;
    result.errors.push({ errorClass, key: null, message, outcome: 'retried' });
    return result;
  }

  private retryOrFail(result: Disposition, batch: PendingRecord[], shares: ShareOf[], errorClass: string, message: string, hintMs: number): Disposition {
    const again: PendingRecord[] = [];
    batch.forEach((pending, index) => {
      const share = shares[index];
      if (pending.attempts >= this.context.spec.retry.maxAttempts) {
        const reason = `${message} (gave up after ${pending.attempts} attempts)`;
        result.updates.push({ ...base(pending), status: 'failed', errorClass, error: reason, ...share });
        result.finished.push(pending);
        result.errors.push({ errorClass, key: pending.key, message: reason, outcome: 'failed' });
      } else {
        this.keepCost(result, pending, share);
        again.push(pending);
      }
    });
    if (again.length > 0) {
      const attempt = Math.max(...again.map((record) => record.attempts));
      for (const piece of this.retryPieces(again, attempt)) {
        result.retry.push({ batch: piece, delayMs: backoffMs(this.context.spec.retry, attempt, hintMs) });
        result.totals.retries = (result.totals.retries ?? 0) + 1;
      }
      result.errors.push({ errorClass, key: again.length === 1 ? (again[0]).key : null, message, outcome: 'retried' });
    }
    return result;
  }

  /**
   * One record the provider cannot handle fails its whole request every time. Retried in
   * halves, it ends up alone within log2(n) attempts and its batch-mates get through; when
   * fewer attempts are left than halving needs, every record is retried on its own.
   */
  private retryPieces(records: PendingRecord[], attempt: number): PendingRecord[][] {
    if (records.length === 1) return [records];
    if (this.context.spec.retry.maxAttempts - attempt < Math.ceil(Math.log2(records.length))) return records.map((record) => [record]);
    const middle = Math.ceil(records.length / 2);
    return [records.slice(0, middle), records.slice(middle)];
  }

  private split(result: Disposition, batch: PendingRecord[], shares: ShareOf[], errorClass: string, message: string, route: Route): Disposition {
    const { ledger, spec } = this.context;
    if (batch.length > 1) {
      // Too large, or one bad record among many: halve it; the records are not to blame.
      batch.forEach((pending, index) => this.keepCost(result, pending, shares[index]));
      ledger.unmarkAttempted(batch.map((record) => record.key));
      for (const record of batch) record.attempts -= 1;
      const middle = Math.ceil(batch.length / 2);
      result.retry.push({ batch: batch.slice(0, middle), delayMs: 0 }, { batch: batch.slice(middle), delayMs: 0 });
      result.errors.push({ errorClass, key: null, message, outcome: 'split' });
      return result;
    }
    const pending = batch[0];
    const share = shares[0];
    if (errorClass === 'truncated' && spec.batching.maxOutputTokens === undefined && pending.outputBoost < 16) {
      this.keepCost(result, pending, share);
      pending.outputBoost *= 4;
      result.retry.push({ batch, delayMs: 0 });
      result.errors.push({ errorClass, key: pending.key, message: `${message}; retrying with a larger allowance`, outcome: 'retried' });
      return result;
    }
    if (errorClass === 'truncated') {
      // Even the largest allowance was cut short: a provider hiccup, or an answer that needs
      // more room than it is given. Attempts tell the two apart, as for any other failure.
      return this.retryOrFail(result, batch, shares, errorClass, `${message} (raise batching.maxOutputTokens)`, 0);
    }
    this.consecutiveBadRequests = errorClass === 'bad_request' ? this.consecutiveBadRequests + 1 : 0;
    result.updates.push({ ...base(pending), status: 'failed', errorClass, error: message, model: route.model, ...share });
    result.finished.push(pending);
    result.errors.push({ errorClass, key: pending.key, message, outcome: 'failed' });
    if (this.consecutiveBadRequests >= 10) {
      result.stop = { kind: 'fatal', errorClass: 'bad_request', message: `The provider refused ${this.consecutiveBadRequests} requests in a row: ${message}` };
    }
    return result;
  }

  /** Tokens paid for an answer that could not be used still belong to the record. */
  private keepCost(result: Disposition, pending: PendingRecord, share: ShareOf): void {
    if (share.promptTokens > 0 || share.completionTokens > 0) result.updates.push({ ...base(pending), status: 'pending', ...share });
  }

  private tooLarge(batch: PendingRecord[], message: string): Disposition {
    const result = emptyDisposition();
    if (batch.length > 1) {
      const middle = Math.ceil(batch.length / 2);
      result.retry.push({ batch: batch.slice(0, middle), delayMs: 0 }, { batch: batch.slice(middle), delayMs: 0 });
      return result;
    }
    const pending = batch[0];
    const error = `${message}; lower batching.maxPromptTokens or raise limits.tpm`;
    result.updates.push({ ...base(pending), status: 'failed', errorClass: 'too_large_for_tpm', error });
    result.finished.push(pending);
    result.errors.push({ errorClass: 'too_large_for_tpm', key: pending.key, message: error, outcome: 'failed' });
    return result;
  }

  private shares(batch: PendingRecord[], usage: Usage | null, price: Price | undefined): ShareOf[] {
    if (!usage) return batch.map(() => ({ promptTokens: 0, completionTokens: 0, costUsd: 0 }));
    const prompt = apportion(usage.promptTokens, batch.map((record) => record.wire.tokens));
    const completion = apportion(usage.completionTokens, batch.map(() => 1));
    return batch.map((_, index) => {
      const promptTokens = prompt[index] ?? 0;
      const completionTokens = completion[index] ?? 0;
      return { promptTokens, completionTokens, costUsd: costUsd(price, promptTokens, completionTokens) };
    });
  }
}

interface ShareOf {
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

function base(record: PendingRecord): Pick<RecordUpdate, 'key' | 'ordinal' | 'inputHash'> {
  return { key: record.key, ordinal: record.ordinal, inputHash: record.inputHash };
}
