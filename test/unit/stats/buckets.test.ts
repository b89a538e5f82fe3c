import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bucketIndex,
  bucketLowerBound,
  bucketRepresentative,
  bucketUpperBound,
  isValidBucketIndex,
  MAX_RECORDABLE,
  MIN_NORMAL,
  relativeErrorBound,
} from '../../../runner/stats/buckets.ts';
import { seededRandom } from './samples.ts';

/** Values spread log-uniformly over 2^-40 .. 2^50, plus the awkward ones. */
function probeValues(): number[] {
  const random = seededRandom(7);
  const values = [MIN_NORMAL, 1, 2, 3, 0.1, 1e-4, 1e-6, 60, 3600, 4096, MAX_RECORDABLE, 2 ** 52, 2 ** 52 + 1];
  for (let i = 0; i < 20_000; i++) values.push(2 ** (random() * 90 - 40));
  return values;
}

describe('log-linear-f64 bucket scheme', () => {
  for (const bits of [1, 4, 7, 12]) {
    it(`puts every value inside its bucket, with bucket width ≤ lower bound / 2^bits (bits=${bits})`, () => {
      for (const value of probeValues()) {
        const index = bucketIndex(value, bits);
        const lower = bucketLowerBound(index, bits);
        const upper = bucketUpperBound(index, bits);
        assert.ok(lower <= value && value < upper, `${value} not in [${lower}, ${upper}) (index ${index})`);
        assert.ok(upper - lower <= lower * 2 ** -bits, `bucket ${index} too wide: [${lower}, ${upper})`);
        assert.ok(isValidBucketIndex(index, bits), `index ${index} of ${value} reported invalid`);
      }
    });

    it(`represents every value within 2^-(bits+1) relative error (bits=${bits})`, () => {
      const bound = relativeErrorBound(bits);
      for (const value of probeValues()) {
        const estimate = bucketRepresentative(bucketIndex(value, bits), bits);
        assert.ok(Math.abs(estimate - value) <= bound * value, `${value} → ${estimate} exceeds ${bound}`);
      }
    });
  }

  it('starts a new bucket exactly at each power of two and at each sub-bucket boundary', () => {
    assert.equal(bucketLowerBound(bucketIndex(1, 7), 7), 1);
    assert.equal(bucketIndex(1, 7) - bucketIndex(1 - 2 ** -20, 7), 1);
    assert.equal(bucketLowerBound(bucketIndex(1 + 1 / 128, 7), 7), 1 + 1 / 128);
    assert.equal(bucketIndex(1 + 1 / 128, 7) - bucketIndex(1 + 1 / 128 - 2 ** -30, 7), 1);
  });

  it('gives indexes that increase with the value (so buckets sort like values)', () => {
    const values = probeValues().sort((a, b) => a - b);
    for (let i = 1; i < values.length; i++) {
      assert.ok(bucketIndex(values[i] as number, 7) >= bucketIndex(values[i - 1] as number, 7));
    }
  });

  it('keeps 0 (and subnormals) in bucket 0, represented by 0', () => {
    assert.equal(bucketIndex(0, 7), 0);
    assert.equal(bucketIndex(MIN_NORMAL / 4, 7), 0);
    assert.equal(bucketRepresentative(0, 7), 0);
    assert.equal(bucketUpperBound(0, 7), MIN_NORMAL);
    assert.ok(bucketIndex(MIN_NORMAL, 7) > 0);
  });

  it('resolves every integer token count below 256 into its own bucket', () => {
    for (let n = 1; n < 256; n++) {
      const index = bucketIndex(n, 7);
      assert.equal(bucketLowerBound(index, 7), n);
      assert.ok(bucketUpperBound(index, 7) <= n + 1, `bucket of ${n} also holds ${n + 1}`);
    }
  });

  it('knows which indexes exist', () => {
    assert.ok(isValidBucketIndex(0, 7));
    assert.ok(!isValidBucketIndex(1, 7), 'exponent 0 with a mantissa (subnormals) is never produced');
    assert.ok(!isValidBucketIndex(127, 7));
    assert.ok(isValidBucketIndex(128, 7));
    assert.ok(isValidBucketIndex(2047 * 128 - 1, 7));
    assert.ok(!isValidBucketIndex(2047 * 128, 7), 'exponent 2047 is Infinity/NaN');
    assert.ok(!isValidBucketIndex(1.5, 7));
    assert.ok(!isValidBucketIndex(-128, 7));
  });
});
