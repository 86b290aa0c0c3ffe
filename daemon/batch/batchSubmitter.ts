// Sends waiting records to the provider as batches. Every step is saved before the next
// one starts — the submission and its records' custom_ids, then the uploaded file's id,
// then the batch's id — so a run killed anywhere between resumes the same batch, finds the
// batch created from its file, or creates it from the file it already uploaded: it never
// submits the same records twice.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatchLedger, SubmissionRow } from '../ledger/batchLedger';
import type { Budget } from '../limits/budget';
import type { BatchApi } from './batchApi';
import type { BatchFileWriter, WrittenFile } from './batchFileWriter';

export interface SubmitterParts {
  api: BatchApi;
  batches: BatchLedger;
  writer: BatchFileWriter;
  budget: Budget;
  /** Where input files are written before upload (the job's folder). */
  directory: string;
  completionWindow: string;
  maxSubmissions: number;
  log(level: 'info' | 'warn', message: string): void;
}

export type SubmitResult = 'submitted' | 'nothing' | 'budget';

export class BatchSubmitter {
  constructor(private readonly parts: SubmitterParts) {}

  get recordsPerFile(): number {
    return this.parts.writer.recordsPerFile;
  }

  /**
   * Submits one file of waiting records. With `fullOnly`, only when a whole file's worth is
   * waiting (while the source is read or batches are open, so files are as large as allowed).
   */
  async submitOne(signal: AbortSignal, fullOnly: boolean): Promise<SubmitResult> {
    const { batches, writer, budget, api, maxSubmissions } = this.parts;
    const eligible = batches.eligibleCount(maxSubmissions);
    if (eligible === 0 || (fullOnly && eligible < writer.recordsPerFile)) return 'nothing';
    const id = batches.openSubmission();
    await mkdir(this.parts.directory, { recursive: true, mode: 0o700 });
    const path = join(this.parts.directory, `batch-input-${id}.jsonl`);
    let inputFileId: string;
    let file: WrittenFile;
    try {
      file = await writer.write(path, id, batches, maxSubmissions);
      if (file.lines === 0 || !budget.tryReserve(file.worstCaseUsd)) {
        batches.dropSubmission(id);
        return file.lines === 0 ? 'nothing' : 'budget';
      }
      batches.setSize(id, file.lines, file.records, file.worstCaseUsd);
      try {
        inputFileId = await api.upload(path, signal);
      } catch (error) {
        budget.settle(file.worstCaseUsd, 0);
        throw error;
      }
      batches.setInputFile(id, inputFileId);
    } catch (error) {
      // Nothing reached the provider that a batch could come from: the records wait again.
      batches.dropSubmission(id);
      throw error;
    } finally {
      await rm(path, { force: true });
    }
    await this.create({ id, inputFileId, providerBatchId: null, status: 'uploading', lines: file.lines, records: file.records, completed: 0, failed: 0, reservedUsd: file.worstCaseUsd }, signal);
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
        await this.parts.api.release(submission.inputFileId);
        this.parts.log('info', `found batch ${found.id} created before the last run stopped`);
      } else {
        await this.create({ ...submission, inputFileId: submission.inputFileId }, signal);
      }
    }
  }

  private async create(submission: SubmissionRow & { inputFileId: string }, signal: AbortSignal): Promise<void> {
    const state = await this.parts.api.create(submission.inputFileId, this.parts.completionWindow, signal);
    this.parts.batches.setProviderBatch(submission.id, state.id, state.status);
    await this.parts.api.release(submission.inputFileId);
    this.parts.log('info', `batch ${state.id} created: ${submission.lines} requests, ${submission.records} records`);
  }
}
