/**
 * Seeded randomness. xoshiro128** (Blackman & Vigna) seeded through splitmix32: fast, 32-bit integer math
 * only (exact in JS), period 2^128 − 1. Written here from the published algorithm description.
 *
 * Streams are derived from (seed, stream id) so that e.g. request i's data does not depend on how many
 * random numbers other requests consumed: that keeps runs repeatable regardless of timing and lets N
 * runners that split a schedule produce exactly the requests one runner would.
 */

/** splitmix32 step: returns [next state, output]. Used only to spread seeds into xoshiro state. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [next, z >>> 0];
}

/** Mixes two 32-bit values into one (for deriving per-stream seeds). */
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x27d4eb2f, 0x165667b1) ^ b;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca77);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae3d);
  return (h ^ (h >>> 16)) >>> 0;
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `seed` is any finite number; it is reduced to 53 bits and folded into the state. */
  constructor(seed: number, stream = 0) {
    if (!Number.isFinite(seed)) throw new Error(`seed: expected a finite number, got ${seed}`);
    const whole = Math.trunc(seed);
    const lo = whole >>> 0;
    const hi = Math.floor(Math.abs(whole) / 2 ** 32) >>> 0;
    let st = mix(mix(lo, hi), stream >>> 0);
    let out: number;
    [st, out] = splitmix32(st);
    this.s0 = out;
    [st, out] = splitmix32(st);
    this.s1 = out;
    [st, out] = splitmix32(st);
    this.s2 = out;
    [st, out] = splitmix32(st);
    this.s3 = out;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // all-zero state is a fixed point
  }

  /** Next uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 bits of precision. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Standard normal (Box–Muller; one value per call, the pair's second value is dropped for simplicity). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Exponential with mean 1 (inverse CDF). */
  exponential(): number {
    return -Math.log(1 - this.next());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Stream ids, so different uses of one seed never share a sequence. */
export const RngStream = {
  arrivals: 1,
  requestData: 2,
  prefix: 3,
  calibration: 4,
} as const;

/** A generator dedicated to one request index (derived, not sequential). */
export function rngForRequest(seed: number, index: number): Rng {
  return new Rng(seed, mix(RngStream.requestData, index >>> 0) ^ Math.floor(index / 2 ** 32));
}
