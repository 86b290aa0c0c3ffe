// Feeds a sink from the ledger in commit order and records how far it got, so a sink is
// always the ledger's finished records, exactly once, even across crashes.
import type { Ledger } from '../ledger/ledger';
import type { StopRequest } from '../pipeline/batchExecutor';
import type { ResultSink } from './sink';

export class SinkFeeder {
  private position: number;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly ledger: Ledger,
    private readonly sink: ResultSink,
    private readonly batchSize = 5000,
  ) {
    this.position = ledger.job()?.sinkSeq ?? 0;
  }

  static async open(ledger: Ledger, sink: ResultSink): Promise<SinkFeeder> {
    await sink.open(ledger.job()?.sinkCheckpoint ?? null);
    return new SinkFeeder(ledger, sink);
  }

  /** Writes everything committed before the call; passes run one after another. */
  drain(): Promise<void> {
    const pass = this.tail.then(() => this.pass());
    this.tail = pass.catch(() => undefined);
    return pass;
  }

  private async pass(): Promise<void> {
    for (;;) {
      const rows = this.ledger.resultsAfter(this.position, this.batchSize);
      if (rows.length === 0) return;
      const checkpoint = await this.sink.write(rows);
      this.position = (rows[rows.length - 1] as { seq: number }).seq;
      this.ledger.saveSinkCheckpoint(this.position, checkpoint);
    }
  }

  async close(): Promise<void> {
    try {
      await this.drain();
    } finally {
      await this.sink.close();
    }
  }
}

/**
 * Feeds the sink what the ledger has; a sink that cannot be written (a full disk) pauses the
 * job instead of failing it, since the ledger keeps every result.
 */
export async function drainOrPause(feeder: SinkFeeder | undefined, requestStop: (stop: StopRequest) => void): Promise<void> {
  try {
    await feeder?.drain();
  } catch (error) {
    requestStop({
      kind: 'fatal',
      errorClass: 'sink',
      message: `Could not write the results to the sink: ${error instanceof Error ? error.message : String(error)}. Fix it (free disk space, permissions) and resume; nothing is lost — the ledger has every result.`,
    });
  }
}
