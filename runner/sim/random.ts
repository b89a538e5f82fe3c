/** Seeded pseudo-random numbers (sfc32 seeded through splitmix32), so a simulator run can be repeated. */

export type Random = () => number;

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * Returns a generator of uniform numbers in [0, 1). `stream` derives independent sequences from one
 * seed (timing jitter, fault selection and output lengths each get their own, so adding a fault rule
 * does not change the timing draws).
 */
export function createRandom(seed: number, stream = 0): Random {
  const next = splitmix32(Math.imul(seed >>> 0, 0x2545f491) ^ Math.imul(stream + 1, 0x9e3779b1));
  let a = next();
  let b = next();
  let c = next();
  let d = next();
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
}

/** Uniform draw in [base - spread, base + spread]; the mean is exactly `base`. */
export function jittered(random: Random, base: number, spread: number): number {
  if (spread === 0) return base;
  return base + (random() * 2 - 1) * spread;
}

/** Uniform integer in [min, max]. */
export function uniformInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}
