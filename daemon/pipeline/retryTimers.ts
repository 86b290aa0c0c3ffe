// Batches waiting out a retry delay. When the job stops they are dropped, not sent: the
// caller learns how many records that gave back, so its count of records in the system
// stays true.
export class RetryTimers<Item> {
  private readonly timers = new Map<ReturnType<typeof setTimeout>, Item[]>();

  get size(): number {
    return this.timers.size;
  }

  /** Sends `batch` after `delayMs` (at once when it is 0 or less). */
  schedule(batch: Item[], delayMs: number, send: (batch: Item[]) => void): void {
    if (delayMs <= 0) {
      send(batch);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      send(batch);
    }, delayMs);
    this.timers.set(timer, batch);
  }

  /** Cancels every waiting batch; returns how many items they held. */
  abandon(): number {
    let items = 0;
    for (const [timer, batch] of this.timers) {
      clearTimeout(timer);
      items += batch.length;
    }
    this.timers.clear();
    return items;
  }
}
