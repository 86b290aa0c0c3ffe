// Requests on the wire, and a way to wait until one of them settles (the budget waits on
// it: a reservation freed by a settled request may make room for the next).
export class InFlight {
  count = 0;
  private waiters: (() => void)[] = [];

  settled(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
