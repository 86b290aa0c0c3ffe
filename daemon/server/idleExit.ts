// `--idle-exit-minutes N`: the daemon leaves after N minutes with no running job and no
// client, so one started on demand does not linger for ever.
export class IdleExit {
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly idleMs: number | null,
    private readonly isIdle: () => boolean,
    private readonly exit: () => void,
  ) {}

  /** Call whenever a client or a job comes or goes. */
  check(): void {
    if (this.idleMs === null) return;
    if (!this.isIdle()) {
      this.stop();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = null;
      if (this.isIdle()) this.exit();
    }, this.idleMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
