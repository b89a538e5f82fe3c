/**
 * A mergeable log-linear histogram with a bounded relative error (see buckets.ts and README.md).
 *
 * - Values: finite numbers in [0, 2^53) in whatever unit the caller uses (seconds for latencies, tokens for
 *   token counts). Anything else (NaN, negative, Infinity, ≥ 2^53) throws a RangeError: a recorder never
 *   silently corrupts its statistics. RunStats screens values first and counts rejected ones per metric.
 * - count, min and max are exact. The sum is exact fixed-point (units + ticks of 2^-52, each value rounded
 *   to that grid once, ±2^-53, which changes nothing for values ≥ 1), so merging is associative and commutative down to the last bit: N runners
 *   merged equal one runner over the union, sum and mean included.
 * - Storage is sparse per octave: an octave's page of 2^bits counters is allocated the first time a value
 *   lands in it, so empty ranges cost nothing and `record` does no allocation after warm-up.
 */
import {
  type BucketScheme,
  bucketIndex,
  bucketLowerBound,
  bucketRepresentative,
  bucketUpperBound,
  checkSubBucketBits,
  DEFAULT_SUB_BUCKET_BITS,
  MAX_RECORDABLE,
  OCTAVE_SLOTS,
  relativeErrorBound,
  SCHEME_KIND,
} from './buckets.ts';
import { MergeError } from './errors.ts';
import { type HistogramSnapshot, parseHistogramSnapshot, TICKS_PER_UNIT } from './histogram-snapshot.ts';

export interface HistogramOptions {
  /** log2 of the sub-buckets per octave; relative error 2^-(bits+1). Default 7 (0.39%). */
  subBucketBits?: number;
}

/** The standard statistics. Every field but count is NaN when count is 0. */
export interface HistogramSummary {
  count: number;
  mean: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
}

export const SUMMARY_QUANTILES = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99, p999: 0.999 } as const;

export interface Bucket {
  index: number;
  /** Inclusive lower and exclusive upper bound. */
  lower: number;
  upper: number;
  count: number;
}

/**
 * Nearest-rank rule: the q-quantile of n samples is the sample of rank ⌈q·n⌉ (1-based, at least 1) in
 * sorted order. q·n within a few ulps above an integer counts as that integer (0.07 × 100 is 7.000000000000001
 * in binary, and must give rank 7, not 8).
 */
export function nearestRank(q: number, n: number): number {
  const x = q * n;
  const rank = Math.ceil(x);
  if (rank > 1 && x - (rank - 1) <= Math.min(x * 2 ** -51, 0.5)) return rank - 1;
  return Math.max(1, rank);
}

function checkQuantile(q: number): void {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be a number from 0 to 1, got ${q}`);
}

function invalidValue(value: number): RangeError {
  return new RangeError(
    `histogram value must be a finite number from 0 to 2^53 − 1 (latency in seconds, or a count), got ${value}`,
  );
}

/**
 * The fraction of a value ≥ 0 in ticks of 2^-52, rounded to the nearest integer (ties to even): adding and
 * subtracting 2^52 rounds any x in [0, 2^52) exactly that way, several times faster than Math.round here.
 * For values ≥ 1 the fraction is already a whole number of ticks; the result may be 2^52 (carried by callers).
 */
function fractionTicks(value: number, whole: number): number {
  return (value - whole) * TICKS_PER_UNIT + TICKS_PER_UNIT - TICKS_PER_UNIT;
}

function sumOverflow(): RangeError {
  return new RangeError('histogram sum would reach 2^53 units: the exact sum cannot hold more');
}

export class Histogram {
  readonly subBucketBits: number;
  private readonly mask: number;
  /** pages[octave][sub-bucket] = count; an octave is a biased exponent (0 holds bucket 0). */
  private readonly pages: (Float64Array | undefined)[];
  /** Lowest and highest allocated page, to bound every walk over the pages. */
  private lowPage = OCTAVE_SLOTS;
  private highPage = -1;
  private total = 0;
  private minValue = Number.POSITIVE_INFINITY;
  private maxValue = Number.NEGATIVE_INFINITY;
  private sumUnits = 0;
  private sumTicks = 0;

  constructor(options: HistogramOptions = {}) {
    const bits = options.subBucketBits ?? DEFAULT_SUB_BUCKET_BITS;
    checkSubBucketBits(bits);
    this.subBucketBits = bits;
    this.mask = 2 ** bits - 1;
    this.pages = new Array<Float64Array | undefined>(OCTAVE_SLOTS).fill(undefined);
  }

  /** A histogram that merges all `parts` (all must share one scheme; `options` applies when there are none). */
  static merged(parts: Iterable<Histogram>, options: HistogramOptions = {}): Histogram {
    let result: Histogram | undefined;
    for (const part of parts) {
      result ??= new Histogram({ subBucketBits: part.subBucketBits });
      result.merge(part);
    }
    return result ?? new Histogram(options);
  }

  /** Rebuilds a histogram from an untrusted snapshot; throws SnapshotError naming the bad field (under `where`). */
  static fromJSON(input: unknown, where = 'histogram'): Histogram {
    const snapshot = parseHistogramSnapshot(input, where);
    const h = new Histogram({ subBucketBits: snapshot.scheme.subBucketBits });
    const { indexDeltas, counts } = snapshot.buckets;
    let index = 0;
    for (let i = 0; i < indexDeltas.length; i++) {
      index += indexDeltas[i] as number;
      const page = h.page(index >>> h.subBucketBits);
      page[index & h.mask] = counts[i] as number;
    }
    h.total = snapshot.count;
    if (snapshot.min !== null) h.minValue = snapshot.min;
    if (snapshot.max !== null) h.maxValue = snapshot.max;
    h.sumUnits = snapshot.sum.units;
    h.sumTicks = snapshot.sum.ticks;
    return h;
  }

  get scheme(): BucketScheme {
    return { kind: SCHEME_KIND, subBucketBits: this.subBucketBits };
  }

  /** Largest relative error of any quantile (README.md): 2^-(subBucketBits+1). */
  get relativeError(): number {
    return relativeErrorBound(this.subBucketBits);
  }

  get count(): number {
    return this.total;
  }

  /** Exact sum, rounded once to a double when read. */
  get sum(): number {
    return this.sumUnits + this.sumTicks / TICKS_PER_UNIT;
  }

  get min(): number {
    return this.total === 0 ? Number.NaN : this.minValue;
  }

  get max(): number {
    return this.total === 0 ? Number.NaN : this.maxValue;
  }

  /** sum / count from the exact sum; NaN when empty. */
  get mean(): number {
    if (this.total === 0) return Number.NaN;
    return Math.min(this.maxValue, Math.max(this.minValue, this.sum / this.total));
  }

  get isEmpty(): boolean {
    return this.total === 0;
  }

  /** Number of non-empty buckets (what the snapshot's size grows with). */
  get bucketCount(): number {
    let n = 0;
    for (let octave = this.lowPage; octave <= this.highPage; octave++) {
      const page = this.pages[octave];
      if (page) for (const c of page) if (c > 0) n++;
    }
    return n;
  }

  /** Adds `count` occurrences of `value`. Hot path: no allocation once the value's octave page exists. */
  record(value: number, count = 1): void {
    if (!(value >= 0 && value <= MAX_RECORDABLE)) throw invalidValue(value);
    if (count !== 1) {
      this.recordMany(value + 0, count);
      return;
    }
    const v = value + 0; // folds −0 into 0
    const whole = Math.floor(v);
    let units = whole;
    let ticks = this.sumTicks + fractionTicks(v, whole);
    if (ticks >= TICKS_PER_UNIT) {
      ticks -= TICKS_PER_UNIT;
      units += 1;
    }
    if (units > MAX_RECORDABLE - this.sumUnits) throw sumOverflow();
    const index = bucketIndex(v, this.subBucketBits);
    const page = this.pages[index >>> this.subBucketBits] ?? this.page(index >>> this.subBucketBits);
    const sub = index & this.mask;
    page[sub] = (page[sub] as number) + 1;
    this.total += 1;
    if (v < this.minValue) this.minValue = v;
    if (v > this.maxValue) this.maxValue = v;
    this.sumUnits += units;
    this.sumTicks = ticks;
  }

  private recordMany(value: number, count: number): void {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new RangeError(`histogram record count must be an integer ≥ 0, got ${count}`);
    }
    if (count === 0) return;
    if (count > MAX_RECORDABLE - this.total) throw new RangeError('histogram count would reach 2^53');
    const whole = Math.floor(value);
    const ticksEach = fractionTicks(value, whole);
    let carryUnits: number;
    let restTicks: number;
    const productTicks = ticksEach * count;
    if (productTicks <= MAX_RECORDABLE) {
      carryUnits = Math.floor(productTicks / TICKS_PER_UNIT);
      restTicks = productTicks - carryUnits * TICKS_PER_UNIT;
    } else {
      // Rare (huge counts): exact integer arithmetic, off the hot path.
      const exact = BigInt(ticksEach) * BigInt(count);
      carryUnits = Number(exact / BigInt(TICKS_PER_UNIT));
      restTicks = Number(exact % BigInt(TICKS_PER_UNIT));
    }
    this.addSum(whole * count + carryUnits, restTicks);
    const index = bucketIndex(value, this.subBucketBits);
    const page = this.page(index >>> this.subBucketBits);
    const sub = index & this.mask;
    page[sub] = (page[sub] as number) + count;
    this.total += count;
    if (value < this.minValue) this.minValue = value;
    if (value > this.maxValue) this.maxValue = value;
  }

  /** Adds everything `other` recorded. Refuses a different bucket scheme (MergeError). Returns this. */
  merge(other: Histogram): this {
    if (other.subBucketBits !== this.subBucketBits) {
      throw new MergeError(
        `cannot merge histograms with different bucket schemes: ${SCHEME_KIND} with subBucketBits ` +
          `${this.subBucketBits} and ${other.subBucketBits}`,
      );
    }
    if (other.total === 0) return this;
    if (other.total > MAX_RECORDABLE - this.total) throw new RangeError('histogram count would reach 2^53');
    const { lowPage, highPage, total, minValue, maxValue, sumUnits, sumTicks } = other;
    this.addSum(sumUnits, sumTicks);
    for (let octave = lowPage; octave <= highPage; octave++) {
      const from = other.pages[octave];
      if (!from) continue;
      const to = this.page(octave);
      for (let sub = 0; sub < from.length; sub++) to[sub] = (to[sub] as number) + (from[sub] as number);
    }
    this.total += total;
    if (minValue < this.minValue) this.minValue = minValue;
    if (maxValue > this.maxValue) this.maxValue = maxValue;
    return this;
  }

  /** Nearest-rank q-quantile (see nearestRank) within `relativeError` of the exact one; NaN when empty. */
  quantile(q: number): number {
    checkQuantile(q);
    const out = [Number.NaN];
    this.valuesAtRanks([this.total === 0 ? 0 : nearestRank(q, this.total)], out);
    return out[0] as number;
  }

  /** Several quantiles in one pass, in the order given. */
  quantiles(qs: readonly number[]): number[] {
    for (const q of qs) checkQuantile(q);
    const out = qs.map(() => Number.NaN);
    if (this.total === 0) return out;
    const order = qs.map((_, i) => i).sort((a, b) => (qs[a] as number) - (qs[b] as number));
    const ranks = order.map((i) => nearestRank(qs[i] as number, this.total));
    const sortedValues = ranks.map(() => Number.NaN);
    this.valuesAtRanks(ranks, sortedValues);
    order.forEach((i, k) => {
      out[i] = sortedValues[k] as number;
    });
    return out;
  }

  summary(): HistogramSummary {
    const [p50, p90, p95, p99, p999] = this.quantiles([
      SUMMARY_QUANTILES.p50,
      SUMMARY_QUANTILES.p90,
      SUMMARY_QUANTILES.p95,
      SUMMARY_QUANTILES.p99,
      SUMMARY_QUANTILES.p999,
    ]) as [number, number, number, number, number];
    return { count: this.total, mean: this.mean, min: this.min, max: this.max, p50, p90, p95, p99, p999 };
  }

  /** The non-empty buckets in increasing order (for re-bucketing, plots, debugging; not a hot path). */
  *buckets(): Generator<Bucket> {
    const bits = this.subBucketBits;
    for (let octave = this.lowPage; octave <= this.highPage; octave++) {
      const page = this.pages[octave];
      if (!page) continue;
      for (let sub = 0; sub < page.length; sub++) {
        const count = page[sub] as number;
        if (count === 0) continue;
        const index = octave * 2 ** bits + sub;
        yield { index, lower: bucketLowerBound(index, bits), upper: bucketUpperBound(index, bits), count };
      }
    }
  }

  clone(): Histogram {
    return new Histogram({ subBucketBits: this.subBucketBits }).merge(this);
  }

  reset(): void {
    this.pages.fill(undefined);
    this.lowPage = OCTAVE_SLOTS;
    this.highPage = -1;
    this.total = 0;
    this.minValue = Number.POSITIVE_INFINITY;
    this.maxValue = Number.NEGATIVE_INFINITY;
    this.sumUnits = 0;
    this.sumTicks = 0;
  }

  toJSON(): HistogramSnapshot {
    const indexDeltas: number[] = [];
    const counts: number[] = [];
    let previous = 0;
    for (const bucket of this.buckets()) {
      indexDeltas.push(bucket.index - previous);
      counts.push(bucket.count);
      previous = bucket.index;
    }
    const empty = this.total === 0;
    return {
      v: 1,
      scheme: this.scheme,
      count: this.total,
      min: empty ? null : this.minValue,
      max: empty ? null : this.maxValue,
      sum: { units: this.sumUnits, ticks: this.sumTicks },
      buckets: { indexDeltas, counts },
    };
  }

  private page(octave: number): Float64Array {
    let page = this.pages[octave];
    if (!page) {
      page = new Float64Array(2 ** this.subBucketBits);
      this.pages[octave] = page;
      if (octave < this.lowPage) this.lowPage = octave;
      if (octave > this.highPage) this.highPage = octave;
    }
    return page;
  }

  /**
   * Adds units + ticks/2^52 (ticks < 2^52) with carry, or throws with the sum unchanged when it would pass
   * 2^53 − 1 units. Callers add to the sum before anything else, so a refusal leaves the histogram intact.
   */
  private addSum(units: number, ticks: number): void {
    let addedUnits = units;
    let newTicks = this.sumTicks + ticks;
    if (newTicks >= TICKS_PER_UNIT) {
      newTicks -= TICKS_PER_UNIT;
      addedUnits += 1;
    }
    if (!(addedUnits <= MAX_RECORDABLE - this.sumUnits)) throw sumOverflow();
    this.sumUnits += addedUnits;
    this.sumTicks = newTicks;
  }

  /**
   * Fills out[k] with the value of rank ranks[k] (ranks ascending, 1..count): rank 1 and rank count are the
   * exact min and max; any other is its bucket's representative, clamped to [min, max] (which only moves it
   * closer to the true sample, itself in [min, max]).
   */
  private valuesAtRanks(ranks: readonly number[], out: number[]): void {
    if (this.total === 0) return;
    const bits = this.subBucketBits;
    let k = 0;
    while (k < ranks.length && ranks[k] === 1) out[k++] = this.minValue;
    let seen = 0;
    for (let octave = this.lowPage; octave <= this.highPage && k < ranks.length; octave++) {
      const page = this.pages[octave];
      if (!page) continue;
      for (let sub = 0; sub < page.length && k < ranks.length; sub++) {
        const count = page[sub] as number;
        if (count === 0) continue;
        seen += count;
        while (k < ranks.length && (ranks[k] as number) <= seen) {
          const rank = ranks[k] as number;
          const estimate = bucketRepresentative(octave * 2 ** bits + sub, bits);
          out[k++] = rank === this.total ? this.maxValue : Math.min(this.maxValue, Math.max(this.minValue, estimate));
        }
      }
    }
  }
}
