/**
 * Per-step results of a multi-step run (a sweep), merged across the runners of one target for the report: the
 * same step index on every runner is the same step, so its histograms and counts are added (percentiles come from
 * the merged buckets, never averaged) and its rates summed (each runner sends and completes its share).
 *
 * Steps are extra detail next to the whole-run statistics that status and thresholds use, so they are checked
 * here, when the report is built, and a problem with them leaves the target's steps out of the report with the
 * reason (`stepsOmitted`) instead of failing the test.
 */
import { z } from 'zod';
import { formatIssues } from '../../../api/validate.ts';
import { MergeError, RunStats, SnapshotError } from '../../../runner/stats/index.ts';
import type { RunnerView } from './results.ts';

const rate = z.number().min(0);

/** One step of a RunnerResult target (runner/report/result-sink.ts RunnerResultStep); stats via RunStats.fromJSON. */
const RunnerStep = z.looseObject({
  step: z.int().min(0),
  label: z.string().max(200),
  profile: z.string().max(40),
  targetRate: rate.optional(),
  achievedRate: rate.optional(),
  completedRate: rate.optional(),
  saturated: z.boolean().optional(),
  saturationReason: z.string().max(1000).optional(),
  stats: z.unknown(),
});

/** One step of one target, all its runners merged. */
export interface MergedStep {
  step: number;
  /** The runners' common label, or `<profile>@<summed rate>` when their rates (hence labels) differ. */
  label: string;
  profile: string;
  /** Sums over the runners that ran the step (set only when every one of them reported it). */
  targetRate?: number;
  achievedRate?: number;
  completedRate?: number;
  /** True when any runner judged the step saturated. */
  saturated?: boolean;
  /** `runner <index>: <reason>` for each runner that gave one. */
  saturationReason?: string;
  /** How many runners ran this step (fewer than the target's runners when some stopped the sweep earlier). */
  runners: number;
  stats: RunStats;
}

export type TargetSteps = { steps: MergedStep[] } | { omitted: string };

interface ParsedStep {
  index: number;
  step: z.output<typeof RunnerStep>;
  stats: RunStats;
}

/**
 * The merged steps of one target from its runners' (valid) results; undefined when no runner reported steps
 * (a single-step run). Every runner of the target must have sent its steps, else the steps are left out: a step
 * merged from some runners only would understate the load the target got.
 */
export function mergeTargetSteps(runners: readonly RunnerView[]): TargetSteps | undefined {
  if (!runners.some((r) => r.steps !== undefined || r.stepsOmitted !== undefined)) return undefined;
  const parsed: ParsedStep[][] = [];
  for (const runner of runners) {
    const who = `runner ${runner.index} (${runner.configMap})`;
    if (runner.stepsOmitted !== undefined) return { omitted: `${who}: ${runner.stepsOmitted}` };
    if (runner.steps === undefined) {
      return {
        omitted: `${who} sent no per-step results${runner.final ? '' : ' (its last result is a partial one)'}`,
      };
    }
    const steps = parseSteps(runner, who);
    if (typeof steps === 'string') return { omitted: steps };
    parsed.push(steps);
  }
  const byStep = new Map<number, ParsedStep[]>();
  for (const steps of parsed) {
    for (const s of steps) byStep.set(s.step.step, [...(byStep.get(s.step.step) ?? []), s]);
  }
  const merged: MergedStep[] = [];
  for (const [step, parts] of [...byStep].sort(([a], [b]) => a - b)) {
    let stats: RunStats;
    try {
      stats = RunStats.merged(parts.map((p) => p.stats));
    } catch (error) {
      if (!(error instanceof MergeError)) throw error;
      return { omitted: `step ${step} cannot be merged across runners: ${error.message}` };
    }
    merged.push(mergeStep(step, parts, stats));
  }
  return { steps: merged };
}

function parseSteps(runner: RunnerView, who: string): ParsedStep[] | string {
  const out: ParsedStep[] = [];
  const seen = new Set<number>();
  for (const [j, raw] of (runner.steps ?? []).entries()) {
    const field = `targets[0].steps[${j}]`;
    const parsed = RunnerStep.safeParse(raw);
    if (!parsed.success) return `${who}: invalid step ${field}: ${formatIssues(parsed.error).join('; ')}`;
    if (seen.has(parsed.data.step)) return `${who}: ${field}.step: step ${parsed.data.step} appears twice`;
    seen.add(parsed.data.step);
    try {
      out.push({
        index: runner.index,
        step: parsed.data,
        stats: RunStats.fromJSON(parsed.data.stats, `${field}.stats`),
      });
    } catch (error) {
      if (!(error instanceof SnapshotError)) throw error;
      return `${who}: invalid statistics: ${error.issues.slice(0, 3).join('; ')}`;
    }
  }
  return out;
}

/** The sum of a rate over the parts, when every part has it. */
function sumOf(parts: readonly ParsedStep[], key: 'targetRate' | 'achievedRate' | 'completedRate'): number | undefined {
  let sum = 0;
  for (const p of parts) {
    const value = p.step[key];
    if (value === undefined) return undefined;
    sum += value;
  }
  return sum;
}

function mergeStep(step: number, parts: readonly ParsedStep[], stats: RunStats): MergedStep {
  const first = parts[0]?.step;
  const profile = first?.profile ?? '';
  const targetRate = sumOf(parts, 'targetRate');
  const sameLabel = parts.every((p) => p.step.label === first?.label);
  const label =
    sameLabel && first
      ? first.label
      : targetRate !== undefined
        ? `${profile}@${targetRate.toFixed(2)}`
        : `step ${step}`;
  const out: MergedStep = { step, label, profile, runners: parts.length, stats };
  if (targetRate !== undefined) out.targetRate = targetRate;
  const achieved = sumOf(parts, 'achievedRate');
  if (achieved !== undefined) out.achievedRate = achieved;
  const completed = sumOf(parts, 'completedRate');
  if (completed !== undefined) out.completedRate = completed;
  if (parts.some((p) => p.step.saturated !== undefined)) out.saturated = parts.some((p) => p.step.saturated === true);
  const reasons = parts
    .filter((p) => p.step.saturationReason !== undefined)
    .map((p) => `runner ${p.index}: ${p.step.saturationReason}`);
  if (reasons.length > 0) out.saturationReason = reasons.join('; ');
  return out;
}
