import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRandom, jittered, uniformInt } from '../../../runner/sim/random.ts';
import { chunkEnd, TimingModel } from '../../../runner/sim/timing.ts';

const base = { ttftMs: 50, ttftJitterMs: 0, prefillMicrosPerToken: 0, itlMs: 10, itlJitterMs: 0 };

describe('seeded random numbers', () => {
  it('repeat for the same seed and stream, and differ across streams', () => {
    const a = createRandom(7, 1);
    const b = createRandom(7, 1);
    const c = createRandom(7, 2);
    const fromA = Array.from({ length: 5 }, () => a());
    assert.deepEqual(
      Array.from({ length: 5 }, () => b()),
      fromA,
    );
    assert.notDeepEqual(
      Array.from({ length: 5 }, () => c()),
      fromA,
    );
  });

  it('stay in [0, 1) with a mean near 1/2', () => {
    const random = createRandom(1);
    let sum = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const value = random();
      assert.ok(value >= 0 && value < 1);
      sum += value;
    }
    // Standard error of the mean of U(0,1) is 0.289/sqrt(n) ~ 0.0009; allow 5 sigma.
    assert.ok(Math.abs(sum / n - 0.5) < 0.005, `mean ${sum / n}`);
  });

  it('draws integers over the whole closed range', () => {
    const random = createRandom(3);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const value = uniformInt(random, 4, 7);
      assert.ok(Number.isInteger(value) && value >= 4 && value <= 7);
      seen.add(value);
    }
    assert.deepEqual([...seen].sort(), [4, 5, 6, 7]);
  });

  it('jitters symmetrically around the base', () => {
    const random = createRandom(11);
    assert.equal(jittered(random, 10, 0), 10);
    let sum = 0;
    const n = 50_000;
    for (let i = 0; i < n; i++) {
      const value = jittered(random, 10, 2);
      assert.ok(value >= 8 && value <= 12);
      sum += value;
    }
    // sd of U(-2, 2) is 1.155; standard error 0.005; allow 5 sigma.
    assert.ok(Math.abs(sum / n - 10) < 0.026, `mean ${sum / n}`);
  });
});

describe('TimingModel', () => {
  it('without jitter gives exactly the configured TTFT and decode step', () => {
    const model = new TimingModel(base, createRandom(1));
    assert.equal(model.prefillMs(100), 50);
    assert.equal(model.decodeStepMs(), 10);
  });

  it('adds prefill time per prompt token', () => {
    const model = new TimingModel({ ...base, prefillMicrosPerToken: 20 }, createRandom(1));
    assert.equal(model.prefillMs(0), 50);
    assert.equal(model.prefillMs(1000), 70);
    assert.ok(model.prefillMs(2000) > model.prefillMs(1999));
  });

  it('keeps jittered values within bounds', () => {
    const model = new TimingModel({ ...base, ttftJitterMs: 5, itlJitterMs: 3 }, createRandom(9));
    for (let i = 0; i < 1000; i++) {
      const ttft = model.prefillMs(0);
      const step = model.decodeStepMs();
      assert.ok(ttft >= 45 && ttft <= 55, `ttft ${ttft}`);
      assert.ok(step >= 7 && step <= 13, `step ${step}`);
    }
  });
});

describe('chunkEnd', () => {
  it('sends the first token alone, then tokensPerChunk at a time, clipped at the end', () => {
    assert.equal(chunkEnd(0, 10, 4), 1);
    assert.equal(chunkEnd(1, 10, 4), 5);
    assert.equal(chunkEnd(5, 10, 4), 9);
    assert.equal(chunkEnd(9, 10, 4), 10);
    assert.equal(chunkEnd(0, 10, 1), 1);
    assert.equal(chunkEnd(3, 10, 1), 4);
  });
});
