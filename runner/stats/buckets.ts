/**
 * The log-linear bucket scheme `log-linear-f64`, read straight off the IEEE-754 bits of a double.
 *
 * A positive normal double is 2^e × (1 + m) with 0 ≤ m < 1. Its bucket index is the biased exponent followed
 * by the top `bits` bits of the mantissa, i.e. the top (11 + bits) bits of the number after the sign bit:
 * every octave [2^e, 2^(e+1)) is split into 2^bits equal sub-buckets. A bucket [L, L + w) has
 * w = 2^e / 2^bits ≤ L / 2^bits, so its midpoint is within w/2 ≤ L / 2^(bits+1) ≤ x / 2^(bits+1) of any x
 * in it: the relative error bound is 2^-(bits+1) for every value, with no range to configure. Index 0 holds
 * 0 (and the subnormals below 2^-1022, which no latency or token count ever reaches); it is exact for 0.
 * See README.md for the choice of bits = 7 (0.39%).
 */

export const SCHEME_KIND = 'log-linear-f64';
export const DEFAULT_SUB_BUCKET_BITS = 7;
export const MIN_SUB_BUCKET_BITS = 1;
/** 2^12 sub-buckets per octave (0.012% error); more would make the dense per-octave pages large. */
export const MAX_SUB_BUCKET_BITS = 12;

/** Smallest positive normal double; smaller values share bucket 0 with 0. */
export const MIN_NORMAL = 2 ** -1022;
/** Largest value a histogram accepts: the exact fixed-point sum (see histogram.ts) needs integer parts < 2^53. */
export const MAX_RECORDABLE = Number.MAX_SAFE_INTEGER;

/** Mantissa bits held in the high 32-bit word of a double. */
const HIGH_WORD_MANTISSA_BITS = 20;
/** Biased exponents 0..2046 (2047 is Infinity/NaN, never recorded). */
export const OCTAVE_SLOTS = 2047;

const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);
const HIGH = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LOW = 1 - HIGH;

export interface BucketScheme {
  kind: typeof SCHEME_KIND;
  /** log2 of the number of sub-buckets per octave. */
  subBucketBits: number;
}

export function checkSubBucketBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < MIN_SUB_BUCKET_BITS || bits > MAX_SUB_BUCKET_BITS) {
    throw new RangeError(
      `subBucketBits must be an integer from ${MIN_SUB_BUCKET_BITS} to ${MAX_SUB_BUCKET_BITS}, got ${bits}`,
    );
  }
}

/** Largest relative error of a quantile: |estimate − exact| ≤ bound × exact. */
export function relativeErrorBound(bits: number): number {
  return 2 ** -(bits + 1);
}

/** Bucket of a value in [0, MAX_RECORDABLE] (not checked here: callers validate). */
export function bucketIndex(value: number, bits: number): number {
  if (value < MIN_NORMAL) return 0;
  scratch[0] = value;
  return (scratchWords[HIGH] as number) >>> (HIGH_WORD_MANTISSA_BITS - bits);
}

/** Inclusive lower bound of a bucket. */
export function bucketLowerBound(index: number, bits: number): number {
  if (index === 0) return 0;
  scratchWords[HIGH] = index * 2 ** (HIGH_WORD_MANTISSA_BITS - bits);
  scratchWords[LOW] = 0;
  return scratch[0] as number;
}

/** Exclusive upper bound of a bucket. */
export function bucketUpperBound(index: number, bits: number): number {
  return index === 0 ? MIN_NORMAL : bucketLowerBound(index + 1, bits);
}

/** The value a bucket stands for: its midpoint (exact in binary), or 0 for bucket 0. */
export function bucketRepresentative(index: number, bits: number): number {
  if (index === 0) return 0;
  const lower = bucketLowerBound(index, bits);
  return lower + (bucketUpperBound(index, bits) - lower) / 2;
}

/** Whether an index can come out of bucketIndex: 0, or a normal finite double's bucket. */
export function isValidBucketIndex(index: number, bits: number): boolean {
  return Number.isInteger(index) && (index === 0 || (index >= 2 ** bits && index < OCTAVE_SLOTS * 2 ** bits));
}
