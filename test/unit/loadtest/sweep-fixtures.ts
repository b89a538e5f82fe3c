/** Runner results of a sweep (per-step statistics from real RunStats), for the step merge, report and compare tests. */
import assert from 'node:assert/strict';
import type { RunnerResult, RunnerResultStep } from '../../../runner/report/result-sink.ts';
import { RunStats } from '../../../runner/stats/index.ts';
import { createdMs, request, runnerResult, statsOf } from './fixtures.ts';

export interface StepPlan {
  label: string;
  profile: string;
  targetRate?: number;
  requests: number;
  /** TTFT of the step's requests, spread by the runner index so runners differ. */
  ttft: number;
  saturationReason?: string;
}

/** Runner `index`'s steps: the sweep's synchronous, throughput and rate steps, 10 s apart. */
export function stepsOf(index: number, plans: StepPlan[]): { steps: RunnerResultStep[]; stats: RunStats[] } {
  const stats = plans.map((p, step) =>
    statsOf(
      Array.from({ length: p.requests }, (_, k) => request({ ttft: p.ttft * (1 + index / 2) + k / 10_000 })),
      { startMs: createdMs + 60_000 + step * 10_000, seconds: 10 },
    ),
  );
  const steps = plans.map((p, step) => {
    const s: RunnerResultStep = { step, label: p.label, profile: p.profile, stats: (stats[step] as RunStats).toJSON() };
    if (p.targetRate !== undefined) s.targetRate = p.targetRate;
    if (p.saturationReason !== undefined) {
      s.saturated = true;
      s.saturationReason = p.saturationReason;
    }
    return s;
  });
  return { steps, stats };
}

export function sweepResult(
  index: number,
  plans: StepPlan[],
  change: (r: RunnerResult) => void = () => {},
  runners = 2,
): RunnerResult {
  const { steps, stats } = stepsOf(index, plans);
  const result = runnerResult(RunStats.merged(stats), { shard: { index, count: runners } });
  const target = result.targets[0];
  assert.ok(target);
  target.steps = steps;
  change(result);
  return result;
}

export const runner0: StepPlan[] = [
  { label: 'synchronous', profile: 'synchronous', requests: 20, ttft: 0.05 },
  { label: 'throughput', profile: 'throughput', requests: 90, ttft: 0.4 },
  { label: 'constant@3.00', profile: 'constant', targetRate: 3, requests: 30, ttft: 0.06 },
  { label: 'constant@6.00', profile: 'constant', targetRate: 6, requests: 60, ttft: 0.1 },
];
export const runner1: StepPlan[] = [
  { label: 'synchronous', profile: 'synchronous', requests: 18, ttft: 0.05 },
  { label: 'throughput', profile: 'throughput', requests: 80, ttft: 0.4 },
  { label: 'constant@2.70', profile: 'constant', targetRate: 2.7, requests: 27, ttft: 0.06 },
  { label: 'constant@5.40', profile: 'constant', targetRate: 5.4, requests: 54, ttft: 0.1 },
];
