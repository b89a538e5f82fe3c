/**
 * Sweep (after GuideLLM): a synchronous step measures the unloaded rate R_sync, a throughput step the
 * maximum rate R_max, then K open-loop steps run at rates evenly spaced strictly between them:
 * r_j = R_sync + j·(R_max − R_sync)/(K + 1), j = 1..K, in increasing order.
 *
 * The sweep stops early at the first rate step judged saturated, because higher rates can only be worse.
 * A step is saturated when either
 *   1. the server's throughput during the measure window (OK completions inside it / its length) is below
 *      90% of the target rate — it is not keeping up (or requests fail), or
 *   2. the backlog grows: between the first and the last third of the measure window, the median TTFT
 *      and the mean number of outstanding requests (in flight + queued) both rise by more than 50%
 *      (and the backlog by at least 2 requests), which is what an unstable queue looks like. Each third
 *      needs ≥ 5 TTFT samples for this test.
 */
import type { SaturationSamples } from './step.ts';

export function sweepRates(syncRate: number, maxRate: number, k: number): number[] {
  const lo = Math.min(syncRate, maxRate);
  const hi = Math.max(syncRate, maxRate);
  const rates: number[] = [];
  for (let j = 1; j <= k; j++) rates.push(lo + (j * (hi - lo)) / (k + 1));
  return rates;
}

export interface SaturationInput {
  targetRate: number;
  completedRate: number | undefined;
  samples: SaturationSamples;
  /** Measure window, offsets from the step's t0 (ms). */
  windowStartMs: number;
  windowEndMs: number;
}

export interface SaturationVerdict {
  saturated: boolean;
  reason?: string;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function inRange(series: Array<[number, number]>, from: number, to: number): number[] {
  return series.filter(([t]) => t >= from && t < to).map(([, v]) => v);
}

export const THROUGHPUT_FRACTION = 0.9;
export const GROWTH_FACTOR = 1.5;
const MIN_SAMPLES = 5;

export function judgeSaturation(input: SaturationInput): SaturationVerdict {
  const { targetRate, completedRate } = input;
  if (completedRate === undefined || completedRate < THROUGHPUT_FRACTION * targetRate) {
    const got = completedRate === undefined ? 'no' : completedRate.toFixed(2);
    return {
      saturated: true,
      reason: `throughput ${got} req/s is below ${THROUGHPUT_FRACTION * 100}% of the target ${targetRate.toFixed(2)} req/s`,
    };
  }
  const third = (input.windowEndMs - input.windowStartMs) / 3;
  const firstEnd = input.windowStartMs + third;
  const lastStart = input.windowEndMs - third;
  const ttftFirst = inRange(input.samples.ttft, input.windowStartMs, firstEnd);
  const ttftLast = inRange(input.samples.ttft, lastStart, input.windowEndMs);
  const backlogFirst = inRange(input.samples.backlog, input.windowStartMs, firstEnd);
  const backlogLast = inRange(input.samples.backlog, lastStart, input.windowEndMs);
  if (ttftFirst.length < MIN_SAMPLES || ttftLast.length < MIN_SAMPLES || !backlogFirst.length || !backlogLast.length) {
    return { saturated: false };
  }
  const t1 = median(ttftFirst);
  const t3 = median(ttftLast);
  const b1 = mean(backlogFirst);
  const b3 = mean(backlogLast);
  if (t3 > GROWTH_FACTOR * t1 && b3 > GROWTH_FACTOR * b1 && b3 >= b1 + 2) {
    return {
      saturated: true,
      reason: `backlog growing: median TTFT ${t1.toFixed(3)}→${t3.toFixed(3)} s and outstanding requests ${b1.toFixed(1)}→${b3.toFixed(1)} across the step`,
    };
  }
  return { saturated: false };
}
