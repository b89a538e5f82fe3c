/**
 * The empirical CDF of a merged histogram, as plot points. Within a bucket the samples are taken as spread
 * evenly, so the curve rises linearly from the bucket's lower bound to its upper bound; bounds are clamped to
 * the exact min and max, so the curve starts at (min, 0) and ends at (max, 1).
 */
import type { Histogram } from '../stats/index.ts';

export interface CdfPoint {
  /** The value (seconds for latencies). */
  x: number;
  /** Fraction of samples ≤ x, in [0, 1]. */
  p: number;
}

export function cdfFromHistogram(h: Histogram): CdfPoint[] {
  const total = h.count;
  if (total === 0) return [];
  const min = h.min;
  const max = h.max;
  const points: CdfPoint[] = [];
  const push = (x: number, p: number) => {
    const last = points.at(-1);
    if (last && last.x === x && last.p === p) return;
    points.push({ x, p });
  };
  let seen = 0;
  for (const bucket of h.buckets()) {
    // Bucket 0 holds exact zeros (e.g. several tokens in one read): it has no width to spread over.
    const upperBound = bucket.index === 0 ? 0 : bucket.upper;
    const lower = Math.min(max, Math.max(min, bucket.lower));
    const upper = Math.min(max, Math.max(min, upperBound));
    push(lower, seen / total);
    seen += bucket.count;
    push(upper, seen / total);
  }
  return points;
}

/** The value at fraction p of a CDF (linear between points); NaN for an empty CDF. */
export function valueAt(cdf: readonly CdfPoint[], p: number): number {
  if (cdf.length === 0) return Number.NaN;
  for (let i = 1; i < cdf.length; i++) {
    const a = cdf[i - 1] as CdfPoint;
    const b = cdf[i] as CdfPoint;
    if (b.p >= p) return b.p === a.p ? a.x : a.x + ((p - a.p) / (b.p - a.p)) * (b.x - a.x);
  }
  return (cdf.at(-1) as CdfPoint).x;
}
