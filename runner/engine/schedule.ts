/**
 * Open-loop arrival schedules on an absolute timeline (offsets in ms from the run's t0), and closed-loop
 * concurrency over time.
 *
 * Arrivals come from the rate function r(t) (piecewise: held or linearly ramped per stage) through its
 * cumulative intensity Λ(t) = ∫₀ᵗ r: arrival i is at Λ⁻¹(cᵢ) where cᵢ = i for `constant` (so a single rate
 * gives exactly tᵢ = i / rate, computed directly, with no accumulated drift) and cᵢ = E₀ + … + Eᵢ with
 * seeded Exp(1) draws for `poisson` (time-rescaling: a unit-rate Poisson process mapped through Λ⁻¹ is a
 * Poisson process with rate r(t), also when r ramps).
 *
 * Splitting across N runners: runner k takes the global slots i ≡ k (mod N); every runner computes the same
 * global sequence, so the union of the shares is exactly the one-runner schedule.
 */
import { Rng, RngStream } from './random.ts';
import type { LoadStage, Phase } from './types.ts';

export interface RateSegment {
  /** Offsets from t0, ms. `endMs` may be Infinity for an open-ended constant rate. */
  startMs: number;
  endMs: number;
  /** Requests/s at the start and end of the segment (equal when held). */
  fromRate: number;
  toRate: number;
}

export interface Slot {
  /** Global slot index. */
  index: number;
  offsetMs: number;
  /** Segment (= stage) index. */
  segment: number;
}

export type ArrivalKind = 'constant' | 'poisson';

export interface Share {
  index: number;
  count: number;
}

/** Segments for stages (open loop): ramps go from the previous stage's rate (0 before the first). */
export function segmentsFromStages(stages: readonly LoadStage[]): RateSegment[] {
  const out: RateSegment[] = [];
  let t = 0;
  let prev = 0;
  for (const s of stages) {
    const rate = s.rate ?? 0;
    const endMs = t + s.durationSeconds * 1000;
    out.push({ startMs: t, endMs, fromRate: s.ramp ? prev : rate, toRate: rate });
    t = endMs;
    prev = rate;
  }
  return out;
}

/** Λ over a whole segment, in requests. */
function segmentIntensity(s: RateSegment): number {
  if (s.endMs === Number.POSITIVE_INFINITY) return s.fromRate > 0 ? Number.POSITIVE_INFINITY : 0;
  return ((s.fromRate + s.toRate) / 2) * ((s.endMs - s.startMs) / 1000);
}

/**
 * Local time τ (ms into the segment) at which the segment's own intensity reaches λ: solves
 * r₀τ + aτ² = λ (τ in s) with a = (r₁ − r₀)/(2D), in the cancellation-free form τ = 2λ / (r₀ + √(r₀² + 4aλ)).
 * A held rate is λ·1000/r₀ directly, so a constant schedule is exactly i·1000/rate.
 */
function invertSegment(s: RateSegment, lambda: number): number {
  if (lambda <= 0) return 0;
  const r0 = s.fromRate;
  if (s.endMs === Number.POSITIVE_INFINITY || s.toRate === r0) return (lambda * 1000) / r0;
  const a = (s.toRate - r0) / (2 * ((s.endMs - s.startMs) / 1000));
  const disc = Math.max(0, r0 * r0 + 4 * a * lambda);
  return ((2 * lambda) / (r0 + Math.sqrt(disc))) * 1000;
}

export class ArrivalSchedule {
  private readonly segments: readonly RateSegment[];
  private readonly kind: ArrivalKind;
  private readonly rng: Rng;
  private readonly share: Share;
  private readonly maxSlots: number;
  private seg = 0;
  /** Λ at the start of the current segment. */
  private segBase = 0;
  private i = 0;
  private c = 0;

  /** `maxSlots`: global slot count limit (maxRequests), Infinity for none. `stream`: RNG stream of the draws. */
  constructor(
    segments: readonly RateSegment[],
    kind: ArrivalKind,
    seed: number,
    share?: Share,
    maxSlots = Number.POSITIVE_INFINITY,
    stream: number = RngStream.arrivals,
  ) {
    this.segments = segments;
    this.kind = kind;
    this.rng = new Rng(seed, stream);
    this.share = share ?? { index: 0, count: 1 };
    this.maxSlots = maxSlots;
  }

  /** This runner's next slot, or undefined when the schedule (duration or slot limit) is exhausted. */
  next(): Slot | undefined {
    for (;;) {
      const slot = this.nextGlobal();
      if (!slot) return undefined;
      if (slot.index % this.share.count === this.share.index) return slot;
    }
  }

  private nextGlobal(): Slot | undefined {
    const index = this.i;
    if (index >= this.maxSlots) return undefined;
    // Cumulative intensity target of this arrival.
    const c = this.kind === 'constant' ? index : this.c + this.rng.exponential();
    for (;;) {
      const s = this.segments[this.seg];
      if (!s) return undefined;
      const total = segmentIntensity(s);
      const local = c - this.segBase;
      if (local < total || (total === Number.POSITIVE_INFINITY && s.fromRate > 0)) {
        const offsetMs = s.startMs + invertSegment(s, local);
        if (offsetMs >= s.endMs) {
          // rounding at the boundary: belongs to the next segment
        } else {
          this.i = index + 1;
          this.c = c;
          return { index, offsetMs, segment: this.seg };
        }
      }
      this.segBase += total;
      this.seg++;
    }
  }
}

/** Global → this runner's share of a count (closed-loop concurrency, request limits): ⌊n/N⌋ (+1 for the first n mod N). */
export function shareOf(n: number, share?: Share): number {
  if (!share) return n;
  return Math.floor(n / share.count) + (share.index < n % share.count ? 1 : 0);
}

/** Closed-loop concurrency target at `offsetMs` for stages (ramps interpolate linearly, rounded). */
export function concurrencyAt(stages: readonly LoadStage[], offsetMs: number): number {
  let t = 0;
  let prev = 0;
  for (const s of stages) {
    const c = s.concurrency ?? 0;
    const end = t + s.durationSeconds * 1000;
    if (offsetMs < end) {
      if (!s.ramp) return c;
      const f = (offsetMs - t) / (end - t);
      return Math.round(prev + (c - prev) * f);
    }
    t = end;
    prev = c;
  }
  return 0;
}

/** Stage index at `offsetMs` (the last stage past the end). */
export function stageAt(stages: readonly LoadStage[], offsetMs: number): number {
  let t = 0;
  for (let k = 0; k < stages.length; k++) {
    t += (stages[k] as LoadStage).durationSeconds * 1000;
    if (offsetMs < t) return k;
  }
  return Math.max(0, stages.length - 1);
}

/** Warmup = [0, warmup), cooldown = [total − cooldown, total), measure in between (by scheduled offset). */
export function phaseAt(offsetMs: number, warmupMs: number, cooldownMs: number, totalMs: number): Phase {
  if (offsetMs < warmupMs) return 'warmup';
  if (Number.isFinite(totalMs) && cooldownMs > 0 && offsetMs >= totalMs - cooldownMs) return 'cooldown';
  return 'measure';
}
