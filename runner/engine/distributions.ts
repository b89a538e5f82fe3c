import type { Rng } from './random.ts';
import type { LengthDistribution } from './types.ts';

/** Throws a clear error naming `field` when the distribution is unusable. */
export function validateDistribution(field: string, d: LengthDistribution): void {
  const need = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`${field}: ${what} (got ${JSON.stringify(d)})`);
  };
  switch (d.kind) {
    case 'fixed':
      need(Number.isInteger(d.value) && d.value >= 1, 'fixed value must be an integer ≥ 1');
      return;
    case 'uniform':
      need(Number.isInteger(d.min) && d.min >= 1, 'uniform min must be an integer ≥ 1');
      need(Number.isInteger(d.max) && d.max >= d.min, 'uniform max must be an integer ≥ min');
      return;
    case 'normal':
      need(Number.isFinite(d.mean) && d.mean > 0, 'normal mean must be > 0');
      need(Number.isFinite(d.stddev) && d.stddev >= 0, 'normal stddev must be ≥ 0');
      need(Number.isInteger(d.min) && d.min >= 1, 'normal min must be an integer ≥ 1');
      need(Number.isInteger(d.max) && d.max >= d.min, 'normal max must be an integer ≥ min');
      return;
    default:
      throw new Error(`${field}: kind must be fixed, uniform or normal (got ${JSON.stringify(d)})`);
  }
}

/** An integer token count drawn from `d` (normal: rounded, then clamped to [min, max]). */
export function sampleLength(d: LengthDistribution, rng: Rng): number {
  switch (d.kind) {
    case 'fixed':
      return d.value;
    case 'uniform':
      return rng.int(d.min, d.max);
    case 'normal': {
      const v = Math.round(d.mean + d.stddev * rng.normal());
      return Math.min(d.max, Math.max(d.min, v));
    }
  }
}

/** Largest value the distribution can produce (for sizing buffers and prompt text). */
export function maxLength(d: LengthDistribution): number {
  return d.kind === 'fixed' ? d.value : d.max;
}
