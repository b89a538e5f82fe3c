import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SnapshotError } from '../../../runner/stats/errors.ts';
import { Histogram } from '../../../runner/stats/histogram.ts';
import type { HistogramSnapshot } from '../../../runner/stats/histogram-snapshot.ts';
import { distributions, draw } from './samples.ts';

function histogramOf(values: readonly number[], subBucketBits?: number): Histogram {
  const h = new Histogram({ subBucketBits });
  for (const v of values) h.record(v);
  return h;
}

/** A valid snapshot as it arrives over the wire (a fresh plain object each call). */
function wire(): HistogramSnapshot {
  return JSON.parse(JSON.stringify(histogramOf([0.01, 0.01, 0.0125, 0.2, 3]))) as HistogramSnapshot;
}

/** Asserts that fromJSON refuses `snapshot` with an issue naming `field` and matching `problem`. */
function assertRejected(snapshot: unknown, field: string, problem: RegExp): void {
  assert.throws(
    () => Histogram.fromJSON(snapshot, 'runner-1.ttft'),
    (err: unknown) => {
      assert.ok(err instanceof SnapshotError, `expected a SnapshotError, got ${String(err)}`);
      const issue = err.issues.find((line) => line.startsWith(`runner-1.ttft${field}:`));
      assert.ok(issue, `no issue names runner-1.ttft${field}; issues: ${err.issues.join(' | ')}`);
      assert.match(issue, problem);
      assert.match(err.message, /^invalid runner-1\.ttft snapshot: /);
      return true;
    },
  );
}

describe('histogram snapshots', () => {
  it('round-trip losslessly through JSON, for every distribution', () => {
    for (const [name, distribution] of Object.entries(distributions)) {
      const h = histogramOf(draw(distribution, 5000, name.length));
      const back = Histogram.fromJSON(JSON.parse(JSON.stringify(h)));
      assert.deepEqual(back.toJSON(), h.toJSON(), name);
      assert.deepEqual(back.summary(), h.summary(), name);
      assert.equal(back.sum, h.sum, name);
      // The restored histogram keeps recording and merging like the original.
      back.record(0.5);
      h.record(0.5);
      assert.deepEqual(back.toJSON(), h.toJSON(), name);
    }
  });

  it('round-trips empty, zero-only and other-precision histograms', () => {
    for (const h of [new Histogram(), histogramOf([0, 0]), histogramOf([1, 2, 3], 3), histogramOf([2 ** 50], 12)]) {
      const back = Histogram.fromJSON(JSON.parse(JSON.stringify(h)));
      assert.deepEqual(back.toJSON(), h.toJSON());
      assert.equal(back.subBucketBits, h.subBucketBits);
    }
    assert.deepEqual(new Histogram().toJSON(), {
      v: 1,
      scheme: { kind: 'log-linear-f64', subBucketBits: 7 },
      count: 0,
      min: null,
      max: null,
      sum: { units: 0, ticks: 0 },
      buckets: { indexDeltas: [], counts: [] },
    });
  });

  it('is delta-encoded: the first index is absolute, the rest are gaps', () => {
    const s = histogramOf([1, 1, 1 + 1 / 128, 2]).toJSON();
    const first = s.buckets.indexDeltas[0] as number;
    assert.deepEqual(s.buckets.indexDeltas, [first, 1, 127]);
    assert.deepEqual(s.buckets.counts, [2, 1, 1]);
  });

  it('rejects an unsupported version', () => {
    assertRejected({ ...wire(), v: 2 }, '.v', /unsupported snapshot version 2 \(this build reads version 1\)/);
    const { v: _v, ...noVersion } = wire();
    assertRejected(noVersion, '.v', /expected 1/);
  });

  it('rejects an unknown scheme or precision', () => {
    assertRejected(
      { ...wire(), scheme: { kind: 'hdr', subBucketBits: 7 } },
      '.scheme.kind',
      /unknown histogram scheme "hdr"/,
    );
    assertRejected(
      { ...wire(), scheme: { kind: 'log-linear-f64', subBucketBits: 30 } },
      '.scheme.subBucketBits',
      /1 to 12/,
    );
  });

  it('rejects negative or fractional counts, and zero-count buckets', () => {
    const negative = wire();
    negative.buckets.counts[1] = -3;
    assertRejected(negative, '.buckets.counts[1]', /must be a positive integer .*, got -3/);
    const fractional = wire();
    fractional.buckets.counts[0] = 1.5;
    assertRejected(fractional, '.buckets.counts[0]', /must be a positive integer .*, got 1\.5/);
    const zero = wire();
    zero.buckets.counts[2] = 0;
    assertRejected(zero, '.buckets.counts[2]', /positive integer/);
    assertRejected({ ...wire(), count: -1 }, '.count', /integer ≥ 0/);
  });

  it('rejects a count that disagrees with the buckets', () => {
    const s = wire();
    assertRejected({ ...s, count: s.count + 1 }, '.count', /is 6 but runner-1\.ttft\.buckets\.counts add up to 5/);
  });

  it('rejects non-integer, non-increasing and impossible bucket indexes', () => {
    const fractional = wire();
    fractional.buckets.indexDeltas[1] = 1.5;
    assertRejected(fractional, '.buckets.indexDeltas[1]', /must be an integer ≥ 0, got 1\.5/);
    const repeated = wire();
    repeated.buckets.indexDeltas[2] = 0;
    assertRejected(repeated, '.buckets.indexDeltas[2]', /must be ≥ 1 \(bucket indexes strictly increase\)/);
    const subnormal = wire();
    subnormal.buckets.indexDeltas[0] = 5;
    assertRejected(subnormal, '.buckets.indexDeltas[0]', /bucket index 5 does not exist/);
    const beyond = wire();
    beyond.buckets.indexDeltas[3] = 10_000_000;
    assertRejected(beyond, '.buckets.indexDeltas[3]', /does not exist in log-linear-f64 with subBucketBits 7/);
    const short = wire();
    short.buckets.indexDeltas.pop();
    assertRejected(short, '.buckets.counts', /has 4 entries but runner-1\.ttft\.buckets\.indexDeltas has 3/);
  });

  it('rejects min, max and sum that the buckets contradict', () => {
    assertRejected({ ...wire(), min: 0.5 }, '.min', /lies in bucket \d+, not in the first bucket/);
    assertRejected({ ...wire(), max: 2.5 }, '.max', /lies in bucket \d+, not in the last bucket/);
    assertRejected({ ...wire(), min: null }, '.min', /missing \(null\) but count is 5/);
    assertRejected({ ...wire(), max: -1 }, '.max', /must be ≥ 0/);
    assertRejected(
      { ...wire(), sum: { units: 100, ticks: 0 } },
      '.sum',
      /cannot be the sum of 5 values between 0\.01 and 3/,
    );
    assertRejected({ ...wire(), sum: { units: 1, ticks: 2 ** 52 } }, '.sum.ticks', /0 to 2\^52 − 1/);
    const empty = new Histogram().toJSON();
    assertRejected({ ...empty, min: 1 }, '.min', /must be null when count is 0/);
    assertRejected({ ...empty, sum: { units: 1, ticks: 0 } }, '.sum', /must be 0 when count is 0/);
  });

  it('rejects missing, extra and mistyped fields, and non-objects', () => {
    const { max: _max, ...noMax } = wire();
    assertRejected(noMax, '.max', /expected number/);
    assertRejected({ ...wire(), extra: 1 }, '.extra', /unknown field/);
    assertRejected({ ...wire(), count: '5' }, '.count', /must be an integer ≥ 0, got "5"/);
    assertRejected({ ...wire(), buckets: [] }, '.buckets', /expected object/);
    assert.throws(() => Histogram.fromJSON(null), /invalid histogram snapshot: histogram: .*expected object/);
    assert.throws(() => Histogram.fromJSON('{"v":1}'), /invalid histogram snapshot: histogram: .*expected object/);
  });

  it('reports every problem at once', () => {
    const s = wire();
    s.buckets.counts[0] = -1;
    assert.throws(
      () => Histogram.fromJSON({ ...s, min: 'low', extra: true }),
      (err: unknown) => err instanceof SnapshotError && err.issues.length === 3,
    );
  });
});
