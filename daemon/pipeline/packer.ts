// Packs prepared records into requests: at most `recordsPerRequest` records and at most
// `maxPromptTokens` prompt tokens each, in arrival order.
import type { WireItem } from './requestBuilder';

export interface PackerLimits {
  recordsPerRequest: number;
  maxPromptTokens: number;
  /** Prompt tokens a request has before any record. */
  overheadTokens: number;
}

export class Packer<Item extends { wire: WireItem }> {
  private current: Item[] = [];
  private currentTokens: number;

  constructor(private readonly limits: PackerLimits) {
    this.currentTokens = limits.overheadTokens;
  }

  /** Adds an item; returns the batches it closed (none, one, or two when recordsPerRequest is 1). */
  add(item: Item): Item[][] {
    const closed: Item[][] = [];
    if (this.current.length > 0 && this.currentTokens + item.wire.tokens > this.limits.maxPromptTokens) {
      closed.push(this.take());
    }
    this.current.push(item);
    this.currentTokens += item.wire.tokens;
    if (this.current.length >= this.limits.recordsPerRequest) closed.push(this.take());
    return closed;
  }

  private take(): Item[] {
    const batch = this.current;
    this.current = [];
    this.currentTokens = this.limits.overheadTokens;
    return batch;
  }

  /** The partial batch, if any. */
  flush(): Item[] | undefined {
    return this.current.length === 0 ? undefined : this.take();
  }

  get size(): number {
    return this.current.length;
  }
}
