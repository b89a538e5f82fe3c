import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeSaturation, sweepRates } from '../../../runner/engine/sweep.ts';

describe('sweepRates', () => {
  it('spaces K rates evenly strictly between the synchronous and throughput rates', () => {
    assert.deepEqual(sweepRates(2, 12, 4), [4, 6, 8, 10]);
    assert.deepEqual(sweepRates(12, 2, 1), [7]);
  });
});

describe('judgeSaturation', () => {
  const steady = (n: number, value: number): Array<[number, number]> =>
    Array.from({ length: n }, (_, i) => [(i * 9000) / n, value]);

  it('flags a step whose throughput is below 90% of the target', () => {
    const v = judgeSaturation({
      targetRate: 100,
      completedRate: 85,
      samples: { ttft: [], backlog: [] },
      windowStartMs: 0,
      windowEndMs: 9000,
    });
    assert.equal(v.saturated, true);
    assert.match(v.reason ?? '', /throughput 85\.00 req\/s is below 90% of the target 100\.00/);
  });

  it('flags a growing backlog (TTFT and outstanding requests rising together)', () => {
    const growing = (n: number, from: number, to: number): Array<[number, number]> =>
      Array.from({ length: n }, (_, i) => [(i * 9000) / n, from + ((to - from) * i) / n]);
    const v = judgeSaturation({
      targetRate: 100,
      completedRate: 99,
      samples: { ttft: growing(300, 0.1, 1.0), backlog: growing(90, 5, 40) },
      windowStartMs: 0,
      windowEndMs: 9000,
    });
    assert.equal(v.saturated, true);
    assert.match(v.reason ?? '', /backlog growing/);
  });

  it('does not flag a stable step, nor one where only TTFT rises', () => {
    const base = { targetRate: 100, completedRate: 99, windowStartMs: 0, windowEndMs: 9000 };
    assert.equal(
      judgeSaturation({ ...base, samples: { ttft: steady(300, 0.1), backlog: steady(90, 5) } }).saturated,
      false,
    );
    const ttftOnly: Array<[number, number]> = Array.from({ length: 300 }, (_, i) => [i * 30, 0.1 + i * 0.01]);
    assert.equal(judgeSaturation({ ...base, samples: { ttft: ttftOnly, backlog: steady(90, 5) } }).saturated, false);
  });
});
