// How many times the daemon may be lost before the extension stops bringing it back: as
// VS Code's language client does, 5 losses within 3 minutes mean something is wrong that
// restarting will not fix, and restarting for ever would only hide it.

export interface CrashBudgetOptions {
  maxCrashes: number;
  windowMs: number;
  now?: () => number;
}

export const defaultCrashBudget = { maxCrashes: 5, windowMs: 3 * 60_000 } as const;

export class CrashBudget {
  private crashes: number[] = [];
  private readonly now: () => number;

  constructor(private readonly options: CrashBudgetOptions = defaultCrashBudget) {
    this.now = options.now ?? Date.now;
  }

  /** Records a loss; false once `maxCrashes` have happened within the window. */
  record(): boolean {
    const now = this.now();
    this.crashes = this.crashes.filter((at) => now - at < this.options.windowMs);
    this.crashes.push(now);
    return this.crashes.length < this.options.maxCrashes;
  }

  get recent(): number {
    const now = this.now();
    return this.crashes.filter((at) => now - at < this.options.windowMs).length;
  }

  reset(): void {
    this.crashes = [];
  }

  describe(): string {
    return `${this.options.maxCrashes} times within ${Math.round(this.options.windowMs / 60_000)} minutes`;
  }
}
