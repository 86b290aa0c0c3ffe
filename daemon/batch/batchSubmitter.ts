// Sends waiting records to the provider as batches. Every step is saved before the next
// one starts — the submission and its records' custom_ids, then the uploaded file's id,
// then the batch's id — so a run killed anywhere between resumes the same batch, finds the
// batch created from its file, or creates it from the file it already uploaded: it never
// submits the same records twice.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { costUsd } from '../cost/prices';
import type { BatchLedger, SubmissionRow } from '../ledger/batchLedger';
import type { Budget } from '../limits/budget';
import type { RequestBuilder } from '../pipeline/requestBuilder';
import type { Price } from '../spec/jobSpec';
import type { BatchApi } from './batchApi';
import { writeBatchFile, type BatchFilePlanner } from './batchFilePlanner';

export interface SubmitterParts {
  api: BatchApi;
  batches: BatchLedger;
  planner: BatchFilePlanner;
  builder: RequestBuilder;
  budget: Budget;
  price: Price | undefined;
  /** Where input files are written before upload (the job's folder). */
  directory: string;
  completionWindow: string;
  maxSubmissions: number;
  maxOutputTokens(records: number): number;
  log(level: 'info' | 'warn', message: string): void;
}

export type SubmitResult = 'submitted' | 'nothing' | 'budget';

export class BatchSubmitter {
  constructor(private readonly parts: SubmitterParts) {}

  get recordsPerFile(): number {
    return this.parts.planner.recordsPerFile;
  }

  /**
   * Submits one file of waiting records. With `fullOnly`, only when a whole file's worth is
   * waiting (while the source is still being read, so files are as large as allowed).
   */
  async submitOne(signal: AbortSignal, fullOnly: boolean): Promise<SubmitResult> {
    const { batches, planner, budget, api } = this.parts;
    const waiting = batches.waiting(this.parts.maxSubmissions, 0, planner.recordsPerFile);
    if (waiting.length === 0) return 'nothing';
    const plan = planner.plan(waiting);
    if (fullOnly && !plan.full) return 'nothing';
    const worstCase = plan.lines.reduce(
      (sum, line) => sum + costUsd(this.parts.price, this.parts.builder.promptTokens(line.records.map((record) => ({ key: record.key, json: record.wireJson, tokens: record.tokens }))), this.parts.maxOutputTokens(line.records.length)),
      0,
    );
    if (!budget.tryReserve(worstCase)) return 'budget';
    const { id, customIds } = batches.createSubmission(plan.lines.map((line) => line.records.map((record) => record.key)), worstCase);
    await mkdir(this.parts.directory, { recursive: true, mode: 0o700 });
    const path = join(this.parts.directory, `batch-input-${id}.jsonl`);
    let inputFileId: string;
    try {
      await writeBatchFile(path, plan.lines, customIds, (customId, body) => api.encodeLine(customId, body));
      inputFileId = await api.upload(path, signal);
      batches.setInputFile(id, inputFileId);
    } catch (error) {
      // Nothing reached the provider that a batch could come from: the records wait again.
      batches.dropSubmission(id);
      budget.settle(worstCase, 0);
      throw error;
    } finally {
      await rm(path, { force: true });
    }
    const records = plan.lines.reduce((sum, line) => sum + line.records.length, 0);
    await this.create({ id, inputFileId, providerBatchId: null, status: 'uploading', lines: plan.lines.length, records, completed: 0, failed: 0, reservedUsd: worstCase }, signal);
    return 'submitted';
  }

  /**
   * Finishes submissions a crash or an error left between upload and a saved batch id:
   * the batch already made from the file is adopted, else the batch is created now.
   */
  async recover(signal: AbortSignal): Promise<void> {
    for (const submission of this.parts.batches.openSubmissions()) {
      if (submission.providerBatchId) continue;
      if (!submission.inputFileId) {
        this.parts.batches.dropSubmission(submission.id);
        continue;
      }
      const found = await this.parts.api.findByInput(submission.inputFileId, signal);
      if (found) {
        this.parts.batches.setProviderBatch(submission.id, found.id, found.status);
        this.parts.log('info', `found batch ${found.id} created before the last run stopped`);
      } else {
        await this.create({ ...submission, inputFileId: submission.inputFileId }, signal);
      }
    }
  }

  private async create(submission: SubmissionRow & { inputFileId: string }, signal: AbortSignal): Promise<void> {
    const state = await this.parts.api.create(submission.inputFileId, this.parts.completionWindow, signal);
    this.parts.batches.setProviderBatch(submission.id, state.id, state.status);
    this.parts.log('info', `batch ${state.id} created: ${submission.lines} requests, ${submission.records} records`);
  }
}
