import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ArrivalSchedule,
  concurrencyAt,
  phaseAt,
  type RateSegment,
  type Slot,
  segmentsFromStages,
  shareOf,
  stageAt,
} from '../../../runner/engine/schedule.ts';

function all(s: ArrivalSchedule, limit = 1_000_000): Slot[] {
  const out: Slot[] = [];
  for (let x = s.next(); x && out.length < limit; x = s.next()) out.push(x);
  return out;
}

const held = (rate: number, seconds: number): RateSegment[] => [
  { startMs: 0, endMs: seconds * 1000, fromRate: rate, toRate: rate },
];

describe('constant schedule', () => {
  it('puts slot i exactly at i / rate, with no accumulated drift', () => {
    const slots = all(new ArrivalSchedule(held(1000, 100), 'constant', 1));
    assert.equal(slots.length, 100_000);
    for (const s of slots) assert.equal(s.offsetMs, s.index); // 1000 req/s: one per ms, exactly
    const odd = all(new ArrivalSchedule(held(3, 10), 'constant', 1));
    assert.deepEqual(
      odd.map((s) => s.offsetMs),
      Array.from({ length: 30 }, (_, i) => (i * 1000) / 3),
    );
  });

  it('is open-ended without a duration and stops at maxSlots', () => {
    const s = new ArrivalSchedule(
      [{ startMs: 0, endMs: Number.POSITIVE_INFINITY, fromRate: 10, toRate: 10 }],
      'constant',
      1,
      undefined,
      25,
    );
    const slots = all(s);
    assert.equal(slots.length, 25);
    assert.equal(slots.at(-1)?.offsetMs, 2400);
  });

  it('follows stages: held rates and a linear ramp with the right counts and stage indices', () => {
    const segments = segmentsFromStages([
      { durationSeconds: 10, rate: 10, ramp: true }, // 0 → 10 req/s: 50 requests
      { durationSeconds: 5, rate: 20 }, // held: 100 requests
      { durationSeconds: 4, rate: 0, ramp: true }, // 20 → 0: 40 requests
    ]);
    const slots = all(new ArrivalSchedule(segments, 'constant', 1));
    const perStage = [0, 0, 0];
    for (const s of slots) perStage[s.segment] = (perStage[s.segment] ?? 0) + 1;
    assert.deepEqual(perStage, [50, 100, 40]);
    // In the ramp, Λ(t) = t²/2 (rate 10 after 10 s): slot i at sqrt(2i) s.
    for (const s of slots.filter((x) => x.segment === 0)) {
      assert.ok(Math.abs(s.offsetMs - Math.sqrt(2 * s.index) * 1000) < 1e-6, `slot ${s.index} at ${s.offsetMs}`);
    }
    for (let i = 1; i < slots.length; i++) {
      assert.ok((slots[i] as Slot).offsetMs > (slots[i - 1] as Slot).offsetMs, 'strictly increasing');
    }
  });
});

/** Kolmogorov–Smirnov statistic of samples against Exp(1). */
function ksExponential(samples: number[]): number {
  const xs = [...samples].sort((a, b) => a - b);
  const n = xs.length;
  let d = 0;
  xs.forEach((x, i) => {
    const f = 1 - Math.exp(-x);
    d = Math.max(d, Math.abs(f - i / n), Math.abs((i + 1) / n - f));
  });
  return d;
}

describe('poisson schedule', () => {
  const gaps = (rate: number, n: number, seed: number) => {
    const slots = all(new ArrivalSchedule(held(rate, n / rate + 100), 'poisson', seed), n + 1);
    return slots.slice(1).map((s, i) => ((s.offsetMs - (slots[i] as Slot).offsetMs) / 1000) * rate);
  };

  it('inter-arrival gaps pass a Kolmogorov–Smirnov test against the exponential (α = 0.01)', () => {
    const n = 5000;
    const d = ksExponential(gaps(200, n, 42));
    // Critical value of the one-sample KS test at α = 0.01: 1.628 / sqrt(n).
    assert.ok(d < 1.628 / Math.sqrt(n), `D = ${d}, critical ${1.628 / Math.sqrt(n)}`);
  });

  it('the KS check has power: it rejects uniform gaps of the same mean', () => {
    const n = 5000;
    const uniform = Array.from({ length: n }, (_, i) => (2 * ((i * 7919) % n)) / n);
    assert.ok(ksExponential(uniform) > 1.628 / Math.sqrt(n));
  });

  it('achieves the target rate over many arrivals (within 1%; the standard error is 0.1%)', () => {
    const rate = 150;
    const n = 1_000_000;
    const slots = all(new ArrivalSchedule(held(rate, n), 'poisson', 5), n);
    const achieved = (slots.length - 1) / (((slots.at(-1) as Slot).offsetMs - (slots[0] as Slot).offsetMs) / 1000);
    assert.ok(Math.abs(achieved / rate - 1) < 0.01, `achieved ${achieved}`);
  });

  it('is repeatable for a seed and differs across seeds', () => {
    const a = all(new ArrivalSchedule(held(50, 10), 'poisson', 9));
    const b = all(new ArrivalSchedule(held(50, 10), 'poisson', 9));
    const c = all(new ArrivalSchedule(held(50, 10), 'poisson', 10));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });
});

describe('share splitting', () => {
  const cases: Array<[string, RateSegment[], 'constant' | 'poisson']> = [
    ['constant', held(97, 20), 'constant'],
    ['poisson', held(97, 20), 'poisson'],
    [
      'ramped poisson',
      segmentsFromStages([
        { durationSeconds: 10, rate: 80, ramp: true },
        { durationSeconds: 5, rate: 30 },
      ]),
      'poisson',
    ],
  ];
  for (const [name, segments, kind] of cases) {
    it(`the union of N shares is exactly the one-runner schedule (${name})`, () => {
      const full = all(new ArrivalSchedule(segments, kind, 77));
      for (const count of [2, 3, 7]) {
        const union: Slot[] = [];
        for (let index = 0; index < count; index++) {
          const part = all(new ArrivalSchedule(segments, kind, 77, { index, count }));
          assert.ok(part.every((s) => s.index % count === index));
          union.push(...part);
        }
        union.sort((a, b) => a.index - b.index);
        assert.deepEqual(union, full, `N = ${count}`);
      }
    });
  }

  it('respects a global slot limit across shares', () => {
    const parts = [0, 1, 2].map((index) =>
      all(new ArrivalSchedule(held(10, 100), 'constant', 1, { index, count: 3 }, 10)),
    );
    assert.deepEqual(
      parts.map((p) => p.length),
      [4, 3, 3],
    );
  });

  it('splits counts so the shares add up to the whole', () => {
    for (const n of [0, 1, 5, 10, 1001]) {
      for (const count of [1, 2, 3, 8]) {
        let sum = 0;
        for (let index = 0; index < count; index++) sum += shareOf(n, { index, count });
        assert.equal(sum, n, `n=${n} count=${count}`);
      }
    }
    assert.equal(shareOf(7), 7);
  });
});

describe('closed-loop stages and phases', () => {
  const stages = [
    { durationSeconds: 10, concurrency: 10, ramp: true },
    { durationSeconds: 10, concurrency: 4 },
  ];

  it('ramps concurrency linearly and holds it', () => {
    assert.equal(concurrencyAt(stages, 0), 0);
    assert.equal(concurrencyAt(stages, 5000), 5);
    assert.equal(concurrencyAt(stages, 9999), 10);
    assert.equal(concurrencyAt(stages, 15000), 4);
    assert.equal(concurrencyAt(stages, 25000), 0);
    assert.equal(stageAt(stages, 9999), 0);
    assert.equal(stageAt(stages, 10000), 1);
    assert.equal(stageAt(stages, 99999), 1);
  });

  it('marks warmup and cooldown windows by scheduled offset', () => {
    assert.equal(phaseAt(0, 1000, 500, 10000), 'warmup');
    assert.equal(phaseAt(999.9, 1000, 500, 10000), 'warmup');
    assert.equal(phaseAt(1000, 1000, 500, 10000), 'measure');
    assert.equal(phaseAt(9499.9, 1000, 500, 10000), 'measure');
    assert.equal(phaseAt(9500, 1000, 500, 10000), 'cooldown');
    assert.equal(phaseAt(1e9, 0, 0, Number.POSITIVE_INFINITY), 'measure');
  });
});
