// The hard spending cap: a request's worst case (all its prompt tokens plus its whole
// max_tokens allowance) is reserved before it is sent, so even with many requests in
// flight the spend can never pass the cap. Settling replaces the reservation with the
// actual cost.
export class Budget {
  private spent: number;
  private reserved = 0;

  constructor(
    readonly limitUsd: number | undefined,
    alreadySpentUsd: number,
  ) {
    this.spent = alreadySpentUsd;
  }

  get spentUsd(): number {
    return this.spent;
  }

  get reservedUsd(): number {
    return this.reserved;
  }

  /** False when the reservation could pass the cap. */
  tryReserve(worstCaseUsd: number): boolean {
    if (this.limitUsd !== undefined && this.spent + this.reserved + worstCaseUsd > this.limitUsd) return false;
    this.reserved += worstCaseUsd;
    return true;
  }

  /**
   * Spend by others sharing this budget (other workers of a shared job), as learnt from the
   * shared ledger; negative to correct an earlier overestimate.
   */
  addSpentElsewhere(usd: number): void {
    this.spent += usd;
  }

  settle(reservedUsd: number, actualUsd: number): void {
    this.reserved = Math.max(0, this.reserved - reservedUsd);
    this.spent += actualUsd;
  }
}
