// Reads the whole source through the RecordPreparer for batch mode: records finished in an
// earlier run are skipped, records that finish at once (malformed, template errors, cache
// hits, too large) are committed, and the rest are staged in the ledger to wait for a batch
// — unless a batch already holds them (a resumed run).
import type { StagedRecord } from '../ledger/batchLedger';
import type { Ledger, RecordUpdate } from '../ledger/ledger';
import type { ProgressTracker } from '../pipeline/progressTracker';
import type { RecordPreparer } from '../pipeline/recordPreparer';
import type { RecordSource } from '../sources/source';
import type { ErrorNote } from '../pipeline/batchExecutor';

export interface StagerParts {
  ledger: Ledger;
  source: RecordSource;
  preparer: RecordPreparer;
  progress: ProgressTracker;
  reportError(note: ErrorNote): void;
  /** Called after each committed chunk, with how many records were staged so far. */
  staged(count: number): Promise<void>;
}

const chunkSize = 500;

export async function stageSource(parts: StagerParts, signal: AbortSignal): Promise<number> {
  const { ledger, preparer, progress } = parts;
  const batches = ledger.batches();
  let staged: StagedRecord[] = [];
  let finals: RecordUpdate[] = [];
  let count = 0;
  const flush = async () => {
    if (finals.length > 0) {
      ledger.commit({
        updates: finals,
        errors: finals.filter((update) => update.status === 'failed').map((update) => ({ errorClass: update.errorClass ?? 'failed', key: update.key, message: update.error ?? '' })),
      });
      progress.record(finals, {}, false);
      finals = [];
    }
    if (staged.length > 0) {
      batches.stage(staged);
      count += staged.length;
      staged = [];
    }
    await parts.staged(count);
  };
  for await (const item of parts.source.read({ signal })) {
    if (signal.aborted) break;
    const preparation = preparer.prepare(item);
    if (preparation.kind === 'skip') continue;
    if (preparation.kind === 'finish') {
      finals.push(preparation.update);
      if (preparation.message) parts.reportError({ errorClass: preparation.update.errorClass ?? 'failed', outcome: 'failed', key: item.key, message: preparation.message });
    } else {
      const { record } = preparation;
      if (batches.stagedHash(record.key) === record.inputHash) continue;
      if (preparation.reopened) progress.reopen(preparation.reopened);
      staged.push({ key: record.key, ordinal: record.ordinal, inputHash: record.inputHash, wireJson: record.wire.json, tokens: record.wire.tokens });
    }
    if (staged.length + finals.length >= chunkSize) await flush();
  }
  await flush();
  return count;
}
