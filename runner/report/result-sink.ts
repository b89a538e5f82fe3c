/**
 * Machine-readable result hand-off to whoever drives the runner (the operator). The payload is the stats
 * aggregate's versioned JSON (`RunStatsSnapshot`) per target, wrapped with enough context to merge N
 * runners: labels, shard, final flag, status. Transport is a `ResultSink`; `FileResultSink` writes a file
 * atomically (write + rename) so a reader never sees half a document. The operator adds a ConfigMap sink.
 */
import { rename, writeFile } from 'node:fs/promises';
import type { EnvironmentLabelValues } from '../config/plan.ts';
import type { RequestCounts, StopReason } from '../engine/types.ts';
import type { StepRecord } from '../modes/target-run.ts';
import type { RunStatsSnapshot } from '../stats/index.ts';
import { finiteOrNull } from './format.ts';
import type { RunStatus, StepReport } from './report.ts';

export const runnerResultKind = 'RunnerResult';
export const runnerResultSchemaVersion = 1;

/**
 * One step of a multi-step run (a sweep) as this runner measured it: the runner report's StepReport without the
 * summary. Rates are this runner's share; the operator adds them up across runners step by step.
 */
export type RunnerResultStep = Omit<StepReport, 'summary'>;

export interface RunnerResultTarget {
  name: string;
  model: string;
  /** Measured-window aggregate: merge these across runners with RunStats.fromJSON(...).merge(...). */
  stats: RunStatsSnapshot;
  /**
   * Per-step statistics, in step order, only in final results of runs with more than one step (sweeps). Optional
   * in schemaVersion 1: readers that do not know it ignore it, and a result without it is still complete.
   */
  steps?: RunnerResultStep[];
  /** Why steps are missing although the run had several (e.g. the result would not fit a ConfigMap with them). */
  stepsOmitted?: string;
  /** Engine counters over all phases so far (progress display; not for statistics). */
  counts?: RequestCounts;
  stopReason?: StopReason;
  error?: string;
}

export interface RunnerResult {
  apiVersion: 'loadlm.dev/v1alpha1';
  kind: typeof runnerResultKind;
  schemaVersion: typeof runnerResultSchemaVersion;
  /** false while the run goes on; true exactly once, at the end. */
  final: boolean;
  updatedAt: string;
  startedAt: string;
  labels: EnvironmentLabelValues;
  shard: { index: number; count: number };
  /** Set when final. */
  status?: RunStatus;
  exitCode?: number;
  messages?: string[];
  targets: RunnerResultTarget[];
}

export interface ResultSink {
  /** A snapshot during the run (may be skipped or coalesced by the sink). */
  partial(result: RunnerResult): Promise<void>;
  /** The last word; called once. */
  final(result: RunnerResult): Promise<void>;
}

/** The steps of a target's run for its final result; undefined for a single-step run (nothing to add). */
export function resultSteps(steps: readonly StepRecord[]): RunnerResultStep[] | undefined {
  if (steps.length < 2) return undefined;
  return steps.map((s) => {
    const step: RunnerResultStep = { step: s.step, label: s.label, profile: s.profile, stats: s.stats.toJSON() };
    if (s.targetRate !== undefined) step.targetRate = s.targetRate;
    const o = s.outcome;
    if (o?.achievedRate !== undefined) step.achievedRate = o.achievedRate;
    if (o?.completedRate !== undefined) step.completedRate = o.completedRate;
    if (o?.saturated !== undefined) step.saturated = o.saturated;
    if (o?.saturationReason !== undefined) step.saturationReason = o.saturationReason;
    return step;
  });
}

/**
 * The same result without per-step statistics, each target saying why (`stepsOmitted`). The fallback of a
 * transport with a size limit: the whole-run statistics matter more than the steps.
 */
export function withoutSteps(result: RunnerResult, reason: string): RunnerResult {
  if (!result.targets.some((t) => t.steps)) return result;
  return {
    ...result,
    targets: result.targets.map((t) => {
      if (!t.steps) return t;
      const { steps: _dropped, ...rest } = t;
      return { ...rest, stepsOmitted: reason };
    }),
  };
}

export function serializeResult(result: RunnerResult): string {
  return `${JSON.stringify(result, finiteOrNull)}\n`;
}

export class FileResultSink implements ResultSink {
  private writing: Promise<void> = Promise.resolve();
  private readonly path: string;
  constructor(path: string) {
    this.path = path;
  }

  partial(result: RunnerResult): Promise<void> {
    return this.enqueue(result);
  }

  final(result: RunnerResult): Promise<void> {
    return this.enqueue(result);
  }

  /** Writes in order; a failed write does not block the next one. */
  private enqueue(result: RunnerResult): Promise<void> {
    const text = serializeResult(result);
    const next = this.writing
      .catch(() => {})
      .then(async () => {
        const tmp = `${this.path}.${process.pid}.tmp`;
        await writeFile(tmp, text);
        await rename(tmp, this.path);
      });
    this.writing = next;
    return next;
  }
}
