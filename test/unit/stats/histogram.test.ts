import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_RECORDABLE } from '../../../runner/stats/buckets.ts';
import { MergeError } from '../../../runner/stats/errors.ts';
import { Histogram, nearestRank } from '../../../runner/stats/histogram.ts';
import { distributions, draw } from './samples.ts';

const QUANTILES = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999, 1];

function histogramOf(values: readonly number[], subBucketBits?: number): Histogram {
  const h = new Histogram({ subBucketBits });
  for (const v of values) h.record(v);
  return h;
}

/** Exact nearest-rank quantile of the samples. */
function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[nearestRank(q, sorted.length) - 1] as number;
}

/** Largest |estimate − exact| / exact over the quantiles (exact zeros must be estimated exactly). */
function worstRelativeError(h: Histogram, sorted: readonly number[], qs: readonly number[]): number {
  let worst = 0;
  for (const q of qs) {
    const exact = exactQuantile(sorted, q);
    const estimate = h.quantile(q);
    if (exact === 0) {
      assert.equal(estimate, 0, `q=${q}: exact 0, estimated ${estimate}`);
      continue;
    }
    worst = Math.max(worst, Math.abs(estimate - exact) / exact);
  }
  return worst;
}

describe('Histogram quantiles', () => {
  const manyQs = [...QUANTILES, ...Array.from({ length: 199 }, (_, i) => (i + 1) / 200)];

  for (const [name, distribution] of Object.entries(distributions)) {
    it(`stay within the documented relative error of exact quantiles: ${name}`, () => {
      const values = draw(distribution, 50_000, name.length * 7919);
      const sorted = [...values].sort((a, b) => a - b);
      for (const bits of [7, 3, 10]) {
        const h = histogramOf(values, bits);
        const worst = worstRelativeError(h, sorted, manyQs);
        // 1e-12 only absorbs the rounding of the division computing the error itself.
        assert.ok(worst <= h.relativeError * (1 + 1e-12), `${name} bits=${bits}: ${worst} > ${h.relativeError}`);
      }
    });
  }

  it('has a documented bound of 0.390625% by default', () => {
    assert.equal(new Histogram().relativeError, 0.00390625);
    assert.equal(new Histogram().subBucketBits, 7);
  });

  it('is tight: with 8 sub-buckets per octave errors come close to the 6.25% bound (the check has teeth)', () => {
    const values = draw(distributions.uniform as (r: () => number) => number, 50_000, 11);
    const sorted = [...values].sort((a, b) => a - b);
    const qs = Array.from({ length: 999 }, (_, i) => (i + 1) / 1000);
    const h = histogramOf(values, 3);
    assert.ok(worstRelativeError(h, sorted, qs) > h.relativeError / 2);
  });

  it('returns the exact min for rank 1 and the exact max for the last rank', () => {
    const values = draw(distributions.lognormal as (r: () => number) => number, 1000, 5);
    const h = histogramOf(values);
    assert.equal(h.quantile(0), Math.min(...values));
    assert.equal(h.quantile(0.0001), Math.min(...values));
    assert.equal(h.quantile(1), Math.max(...values));
  });

  it('clamps estimates into [min, max]', () => {
    const h = histogramOf([1.001, 1.002, 1.003]);
    for (const q of QUANTILES) {
      const v = h.quantile(q);
      assert.ok(v >= 1.001 && v <= 1.003, `q=${q} gave ${v}`);
    }
  });

  it('computes several quantiles at once in the order asked, equal to single calls', () => {
    const h = histogramOf(draw(distributions.bimodal as (r: () => number) => number, 10_000, 3));
    const qs = [0.99, 0.5, 0, 1, 0.9, 0.5];
    assert.deepEqual(
      h.quantiles(qs),
      qs.map((q) => h.quantile(q)),
    );
  });

  it('summarizes mean, min, max and p50..p99.9', () => {
    const h = histogramOf(Array.from({ length: 1000 }, (_, i) => (i + 1) / 1000));
    const s = h.summary();
    assert.equal(s.count, 1000);
    assert.equal(s.min, 0.001);
    assert.equal(s.max, 1);
    assert.ok(Math.abs(s.mean - 0.5005) <= 1e-15, `mean ${s.mean}`); // values enter the sum on the 2^-52 grid
    for (const [key, exact] of [
      ['p50', 0.5],
      ['p90', 0.9],
      ['p95', 0.95],
      ['p99', 0.99],
      ['p999', 0.999],
    ] as const) {
      assert.ok(Math.abs(s[key] - exact) <= exact * h.relativeError, `${key}=${s[key]}, exact ${exact}`);
    }
  });

  it('rejects a quantile outside [0, 1]', () => {
    const h = histogramOf([1]);
    for (const q of [-0.1, 1.1, Number.NaN]) {
      assert.throws(() => h.quantile(q), { name: 'RangeError', message: /quantile must be a number from 0 to 1/ });
      assert.throws(() => h.quantiles([0.5, q]), RangeError);
    }
  });
});

describe('nearestRank', () => {
  it('is ⌈q·n⌉, at least 1, robust to binary rounding of q·n', () => {
    assert.equal(nearestRank(0.95, 100), 95);
    assert.equal(nearestRank(0.07, 100), 7); // 0.07 × 100 = 7.000000000000001 in binary
    assert.equal(nearestRank(0.5, 3), 2);
    assert.equal(nearestRank(0.5, 4), 2);
    assert.equal(nearestRank(0.999, 1000), 999);
    assert.equal(nearestRank(0.001, 10), 1);
    assert.equal(nearestRank(0, 10), 1);
    assert.equal(nearestRank(1, 10), 10);
    assert.equal(nearestRank(1, 2 ** 50), 2 ** 50);
  });
});

describe('Histogram edge cases', () => {
  it('empty: count 0, NaN statistics and quantiles', () => {
    const h = new Histogram();
    assert.equal(h.count, 0);
    assert.equal(h.sum, 0);
    assert.ok(h.isEmpty);
    for (const v of [h.min, h.max, h.mean, h.quantile(0.5), h.quantile(0), h.quantile(1)]) assert.ok(Number.isNaN(v));
    const s = h.summary();
    assert.equal(s.count, 0);
    for (const key of ['mean', 'min', 'max', 'p50', 'p90', 'p95', 'p99', 'p999'] as const) {
      assert.ok(Number.isNaN(s[key]), key);
    }
    assert.deepEqual(h.quantiles([0.5, 0.9]), [Number.NaN, Number.NaN]);
    assert.equal(h.bucketCount, 0);
  });

  it('a single value is every statistic exactly', () => {
    const h = histogramOf([0.1234567]);
    const s = h.summary();
    for (const key of ['mean', 'min', 'max', 'p50', 'p90', 'p95', 'p99', 'p999'] as const)
      assert.equal(s[key], 0.1234567);
  });

  it('records zero exactly (inter-token gaps inside one read)', () => {
    const h = histogramOf([0, 0, 0, 0.01]);
    assert.equal(h.min, 0);
    assert.equal(h.quantile(0.5), 0);
    assert.equal(h.quantile(0.75), 0);
    assert.equal(h.quantile(1), 0.01);
    assert.ok(Math.abs(h.mean - 0.0025) <= 2 ** -53, `mean ${h.mean}`); // 0.01 enters the sum on the 2^-52 grid
  });

  it('folds −0 into 0', () => {
    const h = histogramOf([-0]);
    assert.ok(Object.is(h.min, 0));
    assert.ok(Object.is(h.toJSON().min, 0));
  });

  it('handles very large and very small values with the same relative error', () => {
    for (const value of [1e-300, 1e-9, 1e6, 2 ** 40 + 0.5, 1e15, 2 ** 51]) {
      const h = histogramOf([value, value * 0.999, value]);
      assert.equal(h.max, value);
      const p50 = h.quantile(0.5);
      assert.ok(Math.abs(p50 - value) <= value * h.relativeError, `${value}: p50 ${p50}`);
    }
    const largest = histogramOf([MAX_RECORDABLE]);
    assert.equal(largest.max, MAX_RECORDABLE);
    assert.equal(largest.sum, MAX_RECORDABLE);
  });

  it('rejects NaN, negative, infinite and too-large values with a RangeError and stays unchanged', () => {
    const h = histogramOf([0.5, 2]);
    const before = JSON.stringify(h);
    for (const bad of [Number.NaN, -1, -1e-9, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53]) {
      assert.throws(() => h.record(bad), {
        name: 'RangeError',
        message: new RegExp(`histogram value must be a finite number from 0 to 2\\^53 − 1.*got ${String(bad)}`),
      });
    }
    assert.equal(JSON.stringify(h), before);
  });

  it('refuses a sum that would pass 2^53 and stays unchanged', () => {
    const h = histogramOf([MAX_RECORDABLE - 10]);
    const before = JSON.stringify(h);
    assert.throws(() => h.record(100), { name: 'RangeError', message: /sum would reach 2\^53/ });
    assert.throws(() => h.merge(histogramOf([100])), { name: 'RangeError', message: /sum would reach 2\^53/ });
    assert.equal(JSON.stringify(h), before);
  });
});

/** Reference rounding for the sum's grid, written independently of the implementation's 2^52 trick. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const rest = x - floor;
  if (rest !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}

describe('Histogram sums', () => {
  it('keeps an exact sum: the mean of values on a fine binary grid is exact', () => {
    const values = Array.from({ length: 10_000 }, (_, i) => (i % 977) / 1024 + 3);
    const h = histogramOf(values);
    const exact = values.reduce((a, b) => a + b, 0); // every partial sum is a multiple of 2^-10 below 2^43: exact
    assert.equal(h.sum, exact);
    assert.equal(h.mean, exact / values.length);
  });

  it('rounds each value to the 2^-52 grid at most (|error| ≤ n × 2^-53)', () => {
    const values = draw(distributions.lognormal as (r: () => number) => number, 20_000, 9);
    let exact = 0n;
    const scale = 2n ** 52n;
    for (const v of values) {
      const whole = Math.floor(v);
      exact += BigInt(whole) * scale + BigInt(roundHalfEven((v - whole) * 2 ** 52));
    }
    const h = histogramOf(values);
    const snapshotTicks = BigInt(h.toJSON().sum.units) * scale + BigInt(h.toJSON().sum.ticks);
    assert.equal(snapshotTicks, exact);
    const floatSum = values.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(h.sum - floatSum) <= values.length * 2 ** -53 + floatSum * 1e-12);
  });

  it('record(v, n) equals n × record(v), also for counts whose tick product passes 2^53', () => {
    const once = new Histogram();
    once.record(0.3, 5);
    assert.deepEqual(once.toJSON(), histogramOf([0.3, 0.3, 0.3, 0.3, 0.3]).toJSON());

    const big = new Histogram();
    const n = 2 ** 40 + 3;
    big.record(0.3, n);
    const ticks = BigInt(roundHalfEven(0.3 * 2 ** 52)) * BigInt(n);
    const snapshot = big.toJSON();
    assert.equal(BigInt(snapshot.sum.units) * 2n ** 52n + BigInt(snapshot.sum.ticks), ticks);
    assert.equal(big.count, n);
    assert.equal(big.quantile(0.5), 0.3);
  });

  it('record(v, 0) does nothing; a bad count is a RangeError', () => {
    const h = new Histogram();
    h.record(1, 0);
    assert.equal(h.count, 0);
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) {
      assert.throws(() => h.record(1, bad), { name: 'RangeError', message: /record count must be an integer ≥ 0/ });
    }
    assert.equal(h.count, 0);
  });
});

describe('Histogram helpers', () => {
  it('lists non-empty buckets in order, with bounds holding their values', () => {
    const h = histogramOf([0, 0.5, 0.5, 3, 100]);
    const buckets = [...h.buckets()];
    assert.deepEqual(
      buckets.map((b) => b.count),
      [1, 2, 1, 1],
    );
    for (const [i, v] of [0, 0.5, 3, 100].entries()) {
      const b = buckets[i];
      assert.ok(b && b.lower <= v && v < b.upper);
    }
    assert.equal(h.bucketCount, 4);
  });

  it('clone is independent; reset empties', () => {
    const h = histogramOf([1, 2, 3]);
    const copy = h.clone();
    h.record(4);
    assert.equal(copy.count, 3);
    assert.deepEqual(copy.toJSON(), histogramOf([1, 2, 3]).toJSON());
    h.reset();
    assert.deepEqual(h.toJSON(), new Histogram().toJSON());
    h.record(5);
    assert.deepEqual(h.toJSON(), histogramOf([5]).toJSON());
  });

  it('rejects an invalid subBucketBits', () => {
    for (const bits of [0, 13, 2.5]) {
      assert.throws(() => new Histogram({ subBucketBits: bits }), {
        name: 'RangeError',
        message: /subBucketBits must be an integer from 1 to 12/,
      });
    }
  });

  it('refuses to merge a histogram with another scheme, unchanged', () => {
    const a = histogramOf([1, 2]);
    const before = JSON.stringify(a);
    assert.throws(
      () => a.merge(histogramOf([3], 5)),
      (err: unknown) => {
        assert.ok(err instanceof MergeError);
        assert.match(err.message, /different bucket schemes: log-linear-f64 with subBucketBits 7 and 5/);
        return true;
      },
    );
    assert.equal(JSON.stringify(a), before);
  });
});
