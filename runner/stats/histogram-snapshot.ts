/**
 * The wire form of a histogram (runner → operator through a ConfigMap, and inside the JSON report), and its
 * validation. A snapshot from another process is untrusted: every structural and arithmetic invariant is
 * checked, so a corrupt one is refused with the field named instead of being merged into the results.
 */
import { z } from 'zod';
import {
  bucketIndex,
  isValidBucketIndex,
  MAX_RECORDABLE,
  MAX_SUB_BUCKET_BITS,
  MIN_SUB_BUCKET_BITS,
  SCHEME_KIND,
} from './buckets.ts';
import { integerAtLeast, SnapshotError, zodIssues } from './errors.ts';

export const HISTOGRAM_SNAPSHOT_VERSION = 1;
/** The fixed-point sum's fraction: ticks of 2^-52 units (the resolution of a double at 1). */
export const TICKS_PER_UNIT = 2 ** 52;

/**
 * Version 1. Example: `{"v":1,"scheme":{"kind":"log-linear-f64","subBucketBits":7},"count":3,"min":0.01,
 * "max":0.0125,"sum":{"units":0,"ticks":146366987889541},"buckets":{"indexDeltas":[130083,41],"counts":[2,1]}}`
 * (0.01, 0.01 and 0.0125).
 */
export interface HistogramSnapshot {
  v: 1;
  scheme: { kind: typeof SCHEME_KIND; subBucketBits: number };
  count: number;
  /** Exact smallest and largest values; null when count is 0. */
  min: number | null;
  max: number | null;
  /** Exact sum of the values on a 2^-52 grid: units + ticks / 2^52. */
  sum: { units: number; ticks: number };
  /**
   * Non-empty buckets in increasing index order, delta-encoded: the first entry of `indexDeltas` is the first
   * bucket's index, each later entry the distance (≥ 1) from the previous bucket; `counts` is parallel.
   */
  buckets: { indexDeltas: number[]; counts: number[] };
}

const bitsRange = `must be an integer from ${MIN_SUB_BUCKET_BITS} to ${MAX_SUB_BUCKET_BITS}`;
const count = integerAtLeast(0, 'must be an integer ≥ 0');
const value = z.number().min(0, { error: 'must be ≥ 0' }).max(MAX_RECORDABLE, { error: 'must be < 2^53' }).nullable();

export const HistogramSnapshotSchema = z.strictObject({
  v: z.literal(HISTOGRAM_SNAPSHOT_VERSION),
  scheme: z.strictObject({
    kind: z.literal(SCHEME_KIND, {
      error: (issue) => `unknown histogram scheme ${JSON.stringify(issue.input)} (expected "${SCHEME_KIND}")`,
    }),
    subBucketBits: z
      .int()
      .min(MIN_SUB_BUCKET_BITS, { error: bitsRange })
      .max(MAX_SUB_BUCKET_BITS, { error: bitsRange }),
  }),
  count,
  min: value,
  max: value,
  sum: z.strictObject({
    units: count,
    ticks: z
      .int()
      .min(0)
      .max(TICKS_PER_UNIT - 1, { error: 'must be an integer from 0 to 2^52 − 1' }),
  }),
  buckets: z.strictObject({
    indexDeltas: z.array(count),
    counts: z.array(integerAtLeast(1, 'must be a positive integer (empty buckets are left out)')),
  }),
});

/** Validates an untrusted snapshot; throws SnapshotError listing every problem, fields prefixed by `where`. */
export function parseHistogramSnapshot(input: unknown, where = 'histogram'): HistogramSnapshot {
  if (input !== null && typeof input === 'object' && 'v' in input && input.v !== HISTOGRAM_SNAPSHOT_VERSION) {
    const seen = JSON.stringify((input as { v: unknown }).v);
    throw new SnapshotError(`${where} snapshot`, [
      `${where}.v: unsupported snapshot version ${seen} (this build reads version ${HISTOGRAM_SNAPSHOT_VERSION})`,
    ]);
  }
  const parsed = HistogramSnapshotSchema.safeParse(input);
  if (!parsed.success) throw new SnapshotError(`${where} snapshot`, zodIssues(parsed.error, where));
  const snapshot = parsed.data as HistogramSnapshot;
  const issues = consistencyIssues(snapshot, where);
  if (issues.length > 0) throw new SnapshotError(`${where} snapshot`, issues);
  return snapshot;
}

/** The invariants a schema cannot express: indexes, totals, and min/max/sum against the buckets. */
function consistencyIssues(s: HistogramSnapshot, where: string): string[] {
  const bits = s.scheme.subBucketBits;
  const { indexDeltas, counts } = s.buckets;
  if (indexDeltas.length !== counts.length) {
    return [
      `${where}.buckets.counts: has ${counts.length} entries but ${where}.buckets.indexDeltas has ${indexDeltas.length}`,
    ];
  }
  const issues: string[] = [];
  let index = 0;
  let total = 0;
  for (let i = 0; i < indexDeltas.length; i++) {
    const delta = indexDeltas[i] as number;
    if (i > 0 && delta < 1) {
      issues.push(`${where}.buckets.indexDeltas[${i}]: must be ≥ 1 (bucket indexes strictly increase), got ${delta}`);
      return issues;
    }
    index += delta;
    if (!isValidBucketIndex(index, bits)) {
      issues.push(
        `${where}.buckets.indexDeltas[${i}]: bucket index ${index} does not exist in ${SCHEME_KIND} with subBucketBits ${bits}`,
      );
      return issues;
    }
    total += counts[i] as number;
  }
  if (!Number.isSafeInteger(total)) return [`${where}.buckets.counts: the counts add up beyond 2^53`];
  if (total !== s.count) issues.push(`${where}.count: is ${s.count} but ${where}.buckets.counts add up to ${total}`);
  if (s.count === 0) {
    if (s.min !== null) issues.push(`${where}.min: must be null when count is 0`);
    if (s.max !== null) issues.push(`${where}.max: must be null when count is 0`);
    if (s.sum.units !== 0 || s.sum.ticks !== 0) issues.push(`${where}.sum: must be 0 when count is 0`);
    return issues;
  }
  if (s.min === null || s.max === null) {
    if (s.min === null) issues.push(`${where}.min: missing (null) but count is ${s.count}`);
    if (s.max === null) issues.push(`${where}.max: missing (null) but count is ${s.count}`);
    return issues;
  }
  if (s.min > s.max) issues.push(`${where}.min: ${s.min} is greater than max ${s.max}`);
  const firstIndex = indexDeltas[0] as number;
  if (total === s.count && bucketIndex(s.min, bits) !== firstIndex) {
    issues.push(
      `${where}.min: ${s.min} lies in bucket ${bucketIndex(s.min, bits)}, not in the first bucket ${firstIndex}`,
    );
  }
  if (total === s.count && bucketIndex(s.max, bits) !== index) {
    issues.push(`${where}.max: ${s.max} lies in bucket ${bucketIndex(s.max, bits)}, not in the last bucket ${index}`);
  }
  // Each value enters the sum rounded to the 2^-52 grid (±2^-53); 1e-12 absorbs the float arithmetic here.
  const sum = s.sum.units + s.sum.ticks / TICKS_PER_UNIT;
  const slack = s.count * 2 ** -53;
  const low = (s.count * s.min - slack) * (1 - 1e-12);
  const high = (s.count * s.max + slack) * (1 + 1e-12);
  if (sum < low || sum > high) {
    issues.push(`${where}.sum: ${sum} cannot be the sum of ${s.count} values between ${s.min} and ${s.max}`);
  }
  return issues;
}
