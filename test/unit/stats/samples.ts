/**
 * Seeded sample generators for the stats tests (kept local so these tests depend on nothing but the stats
 * code). mulberry32: a tiny 32-bit PRNG, plenty for drawing test distributions.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal by Box–Muller (1 − u keeps the logarithm finite). */
export function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

export type Distribution = (random: () => number) => number;

/** Latency- and token-shaped distributions, all ≥ 0. */
export const distributions: Record<string, Distribution> = {
  /** Uniform 0..10 s. */
  uniform: (random) => random() * 10,
  /** TTFT-like: median 80 ms, long right tail. */
  lognormal: (random) => Math.exp(Math.log(0.08) + 0.9 * normal(random)),
  /** Cache hits at ~20 ms and misses at ~1.5 s. */
  bimodal: (random) =>
    random() < 0.7 ? Math.abs(0.02 + 0.004 * normal(random)) : Math.abs(1.5 + 0.3 * normal(random)),
  /** Pareto, α = 1.1, from 1 ms: values over many decades (stalls of minutes). */
  heavyTailed: (random) => 0.001 * (1 - random()) ** (-1 / 1.1),
  /** Token counts 1..4096 (integers). */
  tokens: (random) => 1 + Math.floor(random() * 4096),
  /** ITL-like with 10% exact zeros (several tokens in one read). */
  withZeros: (random) => (random() < 0.1 ? 0 : Math.exp(Math.log(0.015) + 0.4 * normal(random))),
};

export function draw(distribution: Distribution, n: number, seed: number): number[] {
  const random = seededRandom(seed);
  const values = new Array<number>(n);
  for (let i = 0; i < n; i++) values[i] = distribution(random);
  return values;
}
