/**
 * The compact token-length syntax shared by flags and YAML shorthand:
 *
 *   128                      fixed 128 tokens (also `fixed:128`)
 *   uniform:64-256           uniform integer in [64, 256]
 *   normal:128,32            normal, mean 128, stddev 32, clamped to [1, mean + 3·stddev] (the CRD's default)
 *   normal:128,32,16-512     normal, mean 128, stddev 32, clamped to [16, 512]
 */
import type { LengthDistribution } from '../engine/types.ts';

export const distributionSyntax = 'N, fixed:N, uniform:MIN-MAX or normal:MEAN,STDDEV[,MIN-MAX]';

/** Parses the compact syntax; throws an Error saying what was expected (the caller prefixes the field). */
export function parseDistribution(text: string): LengthDistribution {
  const s = text.trim();
  const fail = (): never => {
    throw new Error(`expected ${distributionSyntax} with whole token counts, got "${text}"`);
  };
  const int = (t: string | undefined): number => {
    if (t === undefined || !/^\d+$/.test(t.trim())) return fail();
    const n = Number(t);
    return n >= 1 ? n : fail();
  };
  const nonNegative = (t: string | undefined): number => {
    if (t === undefined || !/^\d+$/.test(t.trim())) return fail();
    return Number(t);
  };
  const range = (t: string): [number, number] => {
    const [lo, hi, extra] = t.split('-');
    if (extra !== undefined) fail();
    const min = int(lo);
    const max = int(hi);
    if (max < min) throw new Error(`range ${min}-${max}: max must be ≥ min`);
    return [min, max];
  };
  if (/^\d+$/.test(s)) return { kind: 'fixed', value: int(s) };
  const colon = s.indexOf(':');
  if (colon === -1) return fail();
  const kind = s.slice(0, colon).trim();
  const args = s.slice(colon + 1).trim();
  switch (kind) {
    case 'fixed':
      return { kind: 'fixed', value: int(args) };
    case 'uniform': {
      const [min, max] = range(args);
      return { kind: 'uniform', min, max };
    }
    case 'normal': {
      const [m, sd, r, extra] = args.split(',');
      if (extra !== undefined) fail();
      const mean = int(m);
      const stddev = nonNegative(sd);
      const [min, max] = r === undefined ? [1, mean + 3 * stddev] : range(r);
      return { kind: 'normal', mean, stddev, min, max };
    }
    default:
      return fail();
  }
}

/** The inverse of `parseDistribution` (for help text, reports and CSV). */
export function formatDistribution(d: LengthDistribution): string {
  switch (d.kind) {
    case 'fixed':
      return String(d.value);
    case 'uniform':
      return `uniform:${d.min}-${d.max}`;
    case 'normal':
      return `normal:${d.mean},${d.stddev},${d.min}-${d.max}`;
  }
}
