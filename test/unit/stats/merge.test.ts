import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram } from '../../../runner/stats/histogram.ts';
import { distributions, draw, seededRandom } from './samples.ts';

const QS = [0, 0.001, 0.01, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 1];

function histogramOf(values: readonly number[]): Histogram {
  const h = new Histogram();
  for (const v of values) h.record(v);
  return h;
}

/** Splits values over `parts` runners at random (seeded), as the runners' shares of one schedule would be. */
function split(values: readonly number[], parts: number, seed: number): number[][] {
  const random = seededRandom(seed);
  const out: number[][] = Array.from({ length: parts }, () => []);
  for (const v of values) out[Math.floor(random() * parts)]?.push(v);
  return out;
}

/** Everything a report shows, plus the raw state: equal means indistinguishable. */
function fingerprint(h: Histogram) {
  return { snapshot: h.toJSON(), summary: h.summary(), quantiles: h.quantiles(QS), sum: h.sum, mean: h.mean };
}

describe('Histogram.merge', () => {
  for (const [name, distribution] of Object.entries(distributions)) {
    it(`merge(A, B) equals the histogram of A ∪ B exactly: ${name}`, () => {
      const values = draw(distribution, 20_000, name.length * 31);
      const [a, b] = split(values, 2, 1) as [number[], number[]];
      const merged = histogramOf(a).merge(histogramOf(b));
      assert.deepEqual(fingerprint(merged), fingerprint(histogramOf(values)));
    });
  }

  it('three parts, in any grouping and order, equal the union (commutative and associative)', () => {
    const values = draw(distributions.heavyTailed as (r: () => number) => number, 30_000, 77);
    const [a, b, c] = split(values, 3, 2).map(histogramOf) as [Histogram, Histogram, Histogram];
    const union = fingerprint(histogramOf(values));
    assert.deepEqual(fingerprint(a.clone().merge(b).merge(c)), union);
    assert.deepEqual(fingerprint(a.clone().merge(b.clone().merge(c))), union);
    assert.deepEqual(fingerprint(c.clone().merge(a).merge(b)), union);
    assert.deepEqual(fingerprint(b.clone().merge(c).merge(a)), union);
    assert.deepEqual(fingerprint(Histogram.merged([c, b, a])), union);
  });

  it('sums stay bit-identical however the parts are grouped (the fixed-point sum is associative)', () => {
    // Values whose float sums do depend on the order: 0.1 + 0.2 + 0.3 ≠ 0.3 + 0.2 + 0.1 in binary.
    const values = [0.1, 0.2, 0.3, 1e-7, 12345.678, 0.7, 3e-5];
    const parts = values.map((v) => histogramOf([v]));
    const forward = Histogram.merged(parts);
    const backward = Histogram.merged([...parts].reverse());
    assert.equal(forward.sum, backward.sum);
    assert.deepEqual(forward.toJSON(), backward.toJSON());
    assert.deepEqual(forward.toJSON(), histogramOf([...values].reverse()).toJSON());
  });

  it('empty parts change nothing, on either side', () => {
    const values = draw(distributions.lognormal as (r: () => number) => number, 5000, 3);
    const h = histogramOf(values);
    const expected = fingerprint(h);
    assert.deepEqual(fingerprint(h.clone().merge(new Histogram())), expected);
    assert.deepEqual(fingerprint(new Histogram().merge(h)), expected);
    assert.deepEqual(fingerprint(Histogram.merged([new Histogram(), h, new Histogram()])), expected);
    assert.deepEqual(new Histogram().merge(new Histogram()).toJSON(), new Histogram().toJSON());
    assert.deepEqual(Histogram.merged([]).toJSON(), new Histogram().toJSON());
    assert.equal(Histogram.merged([], { subBucketBits: 5 }).subBucketBits, 5);
  });

  it('merging a histogram into itself doubles it', () => {
    const values = [0.5, 1, 1, 2.25];
    const h = histogramOf(values);
    h.merge(h);
    assert.deepEqual(h.toJSON(), histogramOf([...values, ...values]).toJSON());
  });

  it('with many runners (10 parts, random split) still equals one runner', () => {
    const values = draw(distributions.bimodal as (r: () => number) => number, 20_000, 10);
    const parts = split(values, 10, 4).map(histogramOf);
    assert.deepEqual(fingerprint(Histogram.merged(parts)), fingerprint(histogramOf(values)));
  });

  it('merges through the wire format exactly (runner → JSON → operator)', () => {
    const values = draw(distributions.withZeros as (r: () => number) => number, 10_000, 6);
    const parts = split(values, 4, 8).map((part) => JSON.parse(JSON.stringify(histogramOf(part))) as unknown);
    const merged = Histogram.merged(parts.map((snapshot, i) => Histogram.fromJSON(snapshot, `runner-${i}.itl`)));
    assert.deepEqual(fingerprint(merged), fingerprint(histogramOf(values)));
  });
});
