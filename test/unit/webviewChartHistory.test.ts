import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appendPoint, chartColumns, mergeHistories, thinHistory } from '../../webview/dashboard/chartHistory';
import type { ChartPoint } from '../../webview/protocol/dashboardMessages';

const point = (elapsedSec: number, recordsPerSec = elapsedSec * 10, tokensPerSec = elapsedSec * 100): ChartPoint => ({ elapsedSec, recordsPerSec, tokensPerSec });
const times = (history: readonly ChartPoint[]) => history.map((sample) => sample.elapsedSec);

describe('chart history', () => {
  it('appends later samples, replaces one at the same time and drops an older one', () => {
    let history = appendPoint([], point(1));
    history = appendPoint(history, point(2));
    history = appendPoint(history, point(2, 99, 999));
    history = appendPoint(history, point(1.5));
    assert.deepEqual(history, [point(1), point(2, 99, 999)]);
  });

  it('does not change the history it was given', () => {
    const history = [point(1)];
    appendPoint(history, point(2));
    assert.deepEqual(history, [point(1)]);
  });

  it('thins old samples into pair means so the length stays bounded, keeping the newest as they were', () => {
    const history = Array.from({ length: 10 }, (_, index) => point(index + 1));
    const thinned = thinHistory(history, 8);
    assert.ok(thinned.length <= 8);
    assert.deepEqual(thinned.slice(-5), history.slice(-5));
    assert.deepEqual(thinned[0], { elapsedSec: 1, recordsPerSec: 15, tokensPerSec: 150 });
    assert.deepEqual(times(thinned), [...times(thinned)].sort((a, b) => a - b));
  });

  it('keeps a day of samples at 10 a second within the bound, first to last', () => {
    let history: ChartPoint[] = [];
    for (let tenth = 1; tenth <= 5000; tenth += 1) history = appendPoint(history, point(tenth / 10), 200);
    assert.ok(history.length <= 200, `${history.length} samples`);
    assert.equal(history.at(-1)?.elapsedSec, 500);
    assert.equal(history[0].elapsedSec, 0.1, 'the start of the job is still on the chart');
  });

  it('shrinks even a history just one over the bound', () => {
    assert.equal(thinHistory([point(1), point(2), point(3)], 2).length, 2);
    assert.throws(() => thinHistory([point(1)], 1), /at least 2 samples/);
  });

  it('merges two histories in time order, the newer one winning a tie', () => {
    const merged = mergeHistories([point(1), point(3)], [point(2), point(3, 7, 70)]);
    assert.deepEqual(merged, [point(1), point(2), point(3, 7, 70)]);
  });

  it('lays samples out in uPlot columns', () => {
    assert.deepEqual(chartColumns([point(1), point(2)]), [
      [1, 2],
      [10, 20],
      [100, 200],
    ]);
  });
});
