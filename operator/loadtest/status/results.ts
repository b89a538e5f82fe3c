/**
 * Runner results (decoded result ConfigMaps) → one merged RunStats per target and for the whole test.
 * Every result is untrusted: a corrupt or missing one becomes a problem naming the runner and the field, and
 * the other runners are still merged. Histograms are merged bucket by bucket; percentiles are computed once,
 * from the merged buckets, never averaged.
 */
import { z } from 'zod';
import { formatIssues } from '../../../api/validate.ts';
import type { DecodedResult, RunnerPhase } from '../../../runner/handoff/protocol.ts';
import { MergeError, RunStats, SnapshotError } from '../../../runner/stats/index.ts';
import type { ExpectedRunners } from '../desired/plan.ts';

const count = z.int().min(0);
/** A sweep has at most 52 steps (50 rates + synchronous + throughput); the bound keeps a bad result cheap. */
export const maxRunnerSteps = 256;

/** The envelope of a RunnerResult (runner/report/result-sink.ts); stats are checked by RunStats.fromJSON. */
const RunnerResultEnvelope = z.looseObject({
  apiVersion: z.literal('loadlm.dev/v1alpha1'),
  kind: z.literal('RunnerResult'),
  schemaVersion: z.literal(1),
  final: z.boolean(),
  updatedAt: z.string(),
  startedAt: z.string(),
  labels: z.looseObject({ environment: z.string() }),
  shard: z.strictObject({ index: count, count: z.int().min(1) }),
  status: z.enum(['success', 'slo_breached', 'failed', 'interrupted']).optional(),
  exitCode: z.int().optional(),
  messages: z.array(z.string()).optional(),
  targets: z
    .array(
      z.looseObject({
        name: z.string(),
        model: z.string(),
        stats: z.unknown(),
        counts: z
          .looseObject({
            sent: count,
            completed: count,
            ok: count,
            failed: count,
            late: count,
            errors: z.record(z.string(), count).optional(),
          })
          .optional(),
        stopReason: z.string().optional(),
        error: z.string().optional(),
        // Checked (and their stats parsed) only when the report is built: see steps.ts.
        steps: z.array(z.unknown()).max(maxRunnerSteps).optional(),
        stepsOmitted: z.string().optional(),
      }),
    )
    .min(1),
});

export type ResultProblemReason = 'RunnerResultMissing' | 'RunnerResultInvalid';

export interface ResultProblem {
  index: number;
  reason: ResultProblemReason;
  /** The field at fault, when one is (`targets[0].stats.requests.completed`). */
  field?: string;
  /** Names the runner, its ConfigMap and what is wrong. */
  message: string;
}

/** What one runner reported, once its result passed validation. */
export interface RunnerView {
  index: number;
  target: string;
  shard: { index: number; count: number };
  configMap: string;
  pod?: string;
  phase?: RunnerPhase;
  final: boolean;
  updatedAt: string;
  status?: 'success' | 'slo_breached' | 'failed' | 'interrupted';
  exitCode?: number;
  messages: string[];
  stopReason?: string;
  /** Set when the engine could not run at all. */
  error?: string;
  /** Engine counters over all phases (final results; partials may lack them). */
  counts?: {
    sent: number;
    completed: number;
    ok: number;
    failed: number;
    late: number;
    errors?: Record<string, number>;
  };
  stats: RunStats;
  /** Per-step statistics of a multi-step run (final results only), unvalidated: mergeTargetSteps checks them. */
  steps?: readonly unknown[];
  /** The runner's reason for leaving its steps out. */
  stepsOmitted?: string;
}

export interface MergedResults {
  /** All targets, all valid runners. */
  merged: RunStats;
  /** Per target name (spec order), valid runners only. */
  byTarget: Map<string, RunStats>;
  runners: RunnerView[];
  problems: ResultProblem[];
  /** Runner indexes that reported at the start barrier or later (phase Ready, Running or Finished). */
  ready: Set<number>;
  /** Runner indexes whose valid result is final. */
  finalIndexes: Set<number>;
  allFinal: boolean;
}

export interface MergeOptions {
  /**
   * The run is over (Job finished, or every runner's pod terminated): a runner without a final result is a
   * problem. While running, missing and partial results are expected and not problems.
   */
  requireFinal?: boolean;
}

export function mergeRunnerResults(
  results: readonly DecodedResult[],
  expected: ExpectedRunners,
  options: MergeOptions = {},
): MergedResults {
  const byIndex = new Map<number, DecodedResult>();
  for (const result of results) {
    if (result.index !== undefined && result.index < expected.count) byIndex.set(result.index, result);
  }
  const problems: ResultProblem[] = [];
  const runners: RunnerView[] = [];
  const ready = new Set<number>();
  const byTarget = new Map<string, RunStats>();
  for (const assignment of expected.assignments) {
    const { index } = assignment;
    const decoded = byIndex.get(index);
    const who = `runner ${index} (${decoded?.name ?? `result ConfigMap of runner ${index}`}${decoded?.pod ? `, pod ${decoded.pod}` : ''})`;
    if (decoded?.phase) ready.add(index);
    if (decoded?.error) {
      problems.push({ index, reason: 'RunnerResultInvalid', message: `${who}: ${decoded.error}` });
      continue;
    }
    if (decoded?.payload === undefined) {
      if (options.requireFinal) {
        problems.push({
          index,
          reason: 'RunnerResultMissing',
          message: decoded
            ? `${who}: no result was written${decoded.phase === 'Ready' ? ' (it reported ready, then nothing)' : ''}`
            : `${who}: no result ConfigMap`,
        });
      }
      continue;
    }
    const view = readRunner(decoded, decoded.payload, assignment, who, problems);
    if (!view) continue;
    if (options.requireFinal && !view.final) {
      problems.push({
        index,
        reason: 'RunnerResultMissing',
        message: `${who}: no final result (the last partial result is from ${view.updatedAt}); its requests are left out`,
      });
      continue;
    }
    const targetStats = byTarget.get(view.target) ?? new RunStats(statsOptionsOf(view.stats));
    try {
      targetStats.merge(view.stats);
    } catch (error) {
      if (!(error instanceof MergeError)) throw error;
      problems.push({ index, reason: 'RunnerResultInvalid', message: `${who}: ${error.message}` });
      continue;
    }
    byTarget.set(view.target, targetStats);
    runners.push(view);
  }
  const ordered = new Map<string, RunStats>();
  for (const name of expected.targets) {
    const stats = byTarget.get(name);
    if (stats) ordered.set(name, stats);
  }
  let merged: RunStats;
  try {
    merged = RunStats.merged(ordered.values());
  } catch (error) {
    if (!(error instanceof MergeError)) throw error;
    // Targets measured with different goodput limits cannot be one histogram; keep the first target's.
    problems.push({ index: -1, reason: 'RunnerResultInvalid', message: `targets cannot be merged: ${error.message}` });
    merged = [...ordered.values()][0] ?? new RunStats();
  }
  const finalIndexes = new Set(runners.filter((runner) => runner.final).map((runner) => runner.index));
  return {
    merged,
    byTarget: ordered,
    runners,
    problems,
    ready,
    finalIndexes,
    allFinal: finalIndexes.size === expected.count,
  };
}

function readRunner(
  decoded: DecodedResult,
  payload: unknown,
  assignment: ExpectedRunners['assignments'][number],
  who: string,
  problems: ResultProblem[],
): RunnerView | undefined {
  const { index } = assignment;
  const invalid = (field: string | undefined, message: string) => {
    problems.push({ index, reason: 'RunnerResultInvalid', ...(field ? { field } : {}), message: `${who}: ${message}` });
    return undefined;
  };
  const parsed = RunnerResultEnvelope.safeParse(payload);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error);
    return invalid(issues[0]?.split(':')[0], `invalid result: ${issues.join('; ')}`);
  }
  const result = parsed.data;
  if (result.shard.count !== assignment.shard.count || result.shard.index !== assignment.shard.index) {
    return invalid(
      'shard',
      `shard is ${result.shard.index}/${result.shard.count} but runner ${index} should run shard ` +
        `${assignment.shard.index}/${assignment.shard.count}`,
    );
  }
  if (result.targets.length !== 1 || result.targets[0]?.name !== assignment.target) {
    return invalid(
      'targets',
      `expected results of target "${assignment.target}" only, got ${result.targets.map((t) => `"${t.name}"`).join(', ')}`,
    );
  }
  const target = result.targets[0];
  let stats: RunStats;
  try {
    stats = RunStats.fromJSON(target.stats, 'targets[0].stats');
  } catch (error) {
    if (!(error instanceof SnapshotError)) throw error;
    return invalid(error.issues[0]?.split(':')[0], `invalid statistics: ${error.issues.join('; ')}`);
  }
  const view: RunnerView = {
    index,
    target: assignment.target,
    shard: result.shard,
    configMap: decoded.name,
    final: result.final,
    updatedAt: result.updatedAt,
    messages: result.messages ?? [],
    stats,
  };
  if (decoded.pod) view.pod = decoded.pod;
  if (decoded.phase) view.phase = decoded.phase;
  if (result.status) view.status = result.status;
  if (result.exitCode !== undefined) view.exitCode = result.exitCode;
  if (target.stopReason) view.stopReason = target.stopReason;
  if (target.error) view.error = target.error;
  if (target.steps) view.steps = target.steps;
  if (target.stepsOmitted) view.stepsOmitted = target.stepsOmitted;
  if (target.counts) {
    const { sent, completed, ok, failed, late, errors } = target.counts;
    view.counts = { sent, completed, ok, failed, late, ...(errors ? { errors } : {}) };
  }
  return view;
}

function statsOptionsOf(stats: RunStats) {
  return {
    subBucketBits: stats.histograms.ttft.subBucketBits,
    ...(stats.goodputLimits ? { goodput: stats.goodputLimits } : {}),
  };
}

/** Requests completed and failed so far, over all phases (engine counts, else the measured window plus exclusions). */
export function requestsSoFar(runner: RunnerView): { completed: number; failed: number; ok: number } {
  if (runner.counts) return { completed: runner.counts.completed, failed: runner.counts.failed, ok: runner.counts.ok };
  const { requests, excluded } = runner.stats;
  return {
    completed: requests.completed + excluded.warmup + excluded.cooldown,
    failed: requests.failed,
    ok: requests.ok,
  };
}
