// Runs a function at most once per interval: the first call at once, later ones folded
// into one trailing call; `flush` runs a pending call now (before the page goes away).

export interface Throttled {
  (): void;
  flush(): void;
}

export function throttle(run: () => void, intervalMs: number): Throttled {
  let lastRunAt = Number.NEGATIVE_INFINITY;
  let pending: ReturnType<typeof setTimeout> | null = null;

  const runNow = () => {
    if (pending !== null) clearTimeout(pending);
    pending = null;
    lastRunAt = performance.now();
    run();
  };
  const throttled = () => {
    if (pending !== null) return;
    const wait = lastRunAt + intervalMs - performance.now();
    if (wait <= 0) runNow();
    else pending = setTimeout(runNow, wait);
  };
  throttled.flush = () => {
    if (pending !== null) runNow();
  };
  return throttled;
}
