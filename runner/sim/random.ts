/** Seeded randomness for the simulator, on the runner's generator, so a simulator run can be repeated. */
import { Rng } from '../engine/random.ts';

export type Random = () => number;

/**
 * Returns a generator of uniform numbers in [0, 1). `stream` derives independent sequences from one
 * seed (timing jitter, fault selection and output lengths each get their own, so adding a fault rule
 * does not change the timing draws).
 */
export function createRandom(seed: number, stream = 0): Random {
  const rng = new Rng(seed, stream);
  return () => rng.next();
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
