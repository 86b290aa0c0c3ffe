import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { throttle } from '../../webview/shared/throttle';

describe('throttle', () => {
  it('runs the first call at once and folds the calls after it into one', () => {
    let runs = 0;
    const throttled = throttle(() => (runs += 1), 60_000);
    throttled();
    throttled();
    throttled();
    assert.equal(runs, 1);
    throttled.flush();
    assert.equal(runs, 2);
    throttled.flush();
    assert.equal(runs, 2, 'nothing was pending any more');
  });

  it('runs a pending call by itself once the interval has passed', async () => {
    let runs = 0;
    const throttled = throttle(() => (runs += 1), 20);
    throttled();
    throttled();
    assert.equal(runs, 1);
    for (let waited = 0; runs < 2 && waited < 5000; waited += 10) await sleep(10);
    assert.equal(runs, 2);
  });
});
