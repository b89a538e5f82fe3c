import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maxLength, sampleLength, validateDistribution } from '../../../runner/engine/distributions.ts';
import { Rng, rngForRequest } from '../../../runner/engine/random.ts';
import type { LengthDistribution } from '../../../runner/engine/types.ts';

function draw(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.nextUint32());
}

describe('Rng', () => {
  it('repeats the same sequence for the same seed and stream', () => {
    assert.deepEqual(draw(new Rng(42), 100), draw(new Rng(42), 100));
    assert.deepEqual(draw(new Rng(42, 7), 100), draw(new Rng(42, 7), 100));
  });

  it('gives different sequences for different seeds, streams and large seeds', () => {
    assert.notDeepEqual(draw(new Rng(42), 10), draw(new Rng(43), 10));
    assert.notDeepEqual(draw(new Rng(42, 1), 10), draw(new Rng(42, 2), 10));
    assert.notDeepEqual(draw(new Rng(2 ** 40), 10), draw(new Rng(2 ** 40 + 2 ** 32), 10));
  });

  it('rejects a non-finite seed, naming it', () => {
    assert.throws(() => new Rng(Number.NaN), /seed: expected a finite number/);
  });

  it('produces uniform [0,1) values with the right mean and variance', () => {
    const rng = new Rng(7);
    const n = 200_000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      assert.ok(u >= 0 && u < 1);
      sum += u;
      sumSq += u * u;
    }
    const mean = sum / n;
    const variance = sumSq / n - mean * mean;
    // Standard error of the mean is sqrt(1/12/n) ≈ 0.00065; 0.005 is > 7 standard errors.
    assert.ok(Math.abs(mean - 0.5) < 0.005, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1 / 12) < 0.002, `variance ${variance}`);
  });

  it('int() covers the inclusive range evenly', () => {
    const rng = new Rng(3);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[rng.int(1, 6) - 1]++;
    for (const c of counts) assert.ok(Math.abs(c - 10_000) < 500, `counts ${counts}`); // ≈ 5 sigma
  });

  it('derives per-request generators from (seed, index) alone', () => {
    assert.deepEqual(draw(rngForRequest(9, 1234), 5), draw(rngForRequest(9, 1234), 5));
    assert.notDeepEqual(draw(rngForRequest(9, 1234), 5), draw(rngForRequest(9, 1235), 5));
  });
});

describe('length distributions', () => {
  const n = 100_000;
  const stats = (d: LengthDistribution) => {
    const rng = new Rng(11);
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const v = sampleLength(d, rng);
      assert.ok(Number.isInteger(v));
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
    }
    return { min, max, mean: sum / n };
  };

  it('fixed always gives the value', () => {
    assert.deepEqual(stats({ kind: 'fixed', value: 128 }), { min: 128, max: 128, mean: 128 });
  });

  it('uniform stays within [min, max], reaches both ends and has the right mean', () => {
    const s = stats({ kind: 'uniform', min: 10, max: 30 });
    assert.equal(s.min, 10);
    assert.equal(s.max, 30);
    assert.ok(Math.abs(s.mean - 20) < 0.1, `mean ${s.mean}`); // SE ≈ 0.019
  });

  it('normal is clamped to [min, max] and has the right mean when the clamp is symmetric', () => {
    const s = stats({ kind: 'normal', mean: 500, stddev: 100, min: 200, max: 800 });
    assert.ok(s.min >= 200 && s.max <= 800);
    assert.ok(Math.abs(s.mean - 500) < 1.5, `mean ${s.mean}`); // SE ≈ 0.32
    const clamped = stats({ kind: 'normal', mean: 100, stddev: 50, min: 90, max: 110 });
    assert.ok(clamped.min === 90 && clamped.max === 110);
  });

  it('validation names the field and what was expected', () => {
    assert.throws(
      () => validateDistribution('data.outputTokens', { kind: 'fixed', value: 0 }),
      /data\.outputTokens: fixed value must be an integer ≥ 1/,
    );
    assert.throws(
      () => validateDistribution('data.promptTokens', { kind: 'uniform', min: 5, max: 2 }),
      /data\.promptTokens: uniform max/,
    );
    assert.throws(
      () => validateDistribution('x', { kind: 'weird' } as unknown as LengthDistribution),
      /x: kind must be fixed, uniform or normal/,
    );
    assert.equal(maxLength({ kind: 'normal', mean: 5, stddev: 1, min: 1, max: 9 }), 9);
  });
});
