/**
 * One target's part of a run: runs the engine and turns its callbacks into statistics (one RunStats per
 * step, so sweeps report each rate), live metrics, progress, and optional per-request CSV rows.
 *
 * Measured window of a step: [stepStart + warmup, min(stepEnd, stepStart + stepLength − cooldown)], where
 * stepStart is the step's t0 and stepEnd when its last request finished. Requests count in the phase of
 * their *scheduled* time (the engine's rule), so an open-loop step's completed/window equals its rate.
 */

import type { PlannedTarget, RunPlan } from '../config/plan.ts';
import { runLoad as engineRunLoad } from '../engine/index.ts';
import type {
  LoadSpec,
  PhaseEvent,
  RequestResult,
  RunLoad,
  RunOutcome,
  RunProgress,
  StepOutcome,
} from '../engine/types.ts';
import type { TargetMetrics } from '../metrics/runner-metrics.ts';
import { plannedSeconds } from '../report/progress.ts';
import { goodputLimitsFromMilliseconds, RunStats, type RunStatsOptions } from '../stats/index.ts';

export interface StepRecord {
  step: number;
  label: string;
  profile: string;
  targetRate?: number;
  stats: RunStats;
  outcome?: StepOutcome;
}

export interface TargetRunResult {
  name: string;
  target: PlannedTarget;
  /** Measured statistics of the whole target (all steps merged). */
  stats: RunStats;
  steps: StepRecord[];
  /** First error message per error class. */
  errorSamples: Record<string, string>;
  outcome?: RunOutcome;
  /** Set when the engine could not run at all (invalid plan, crash). */
  error?: string;
}

export interface TargetRunHooks {
  metrics?: TargetMetrics;
  onProgress?(target: string, progress: RunProgress): void;
  onRequest?(target: string, result: RequestResult): void;
  onEvent?(target: string, event: PhaseEvent): void;
}

export function statsOptions(plan: RunPlan): RunStatsOptions {
  const g = plan.slo.goodput;
  if (!g) return {};
  return {
    goodput: goodputLimitsFromMilliseconds({
      ttftMilliseconds: g.ttftMs,
      tpotMilliseconds: g.tpotMs,
      e2eMilliseconds: g.e2eMs,
    }),
  };
}

/** Step length in ms as the engine plans it (Infinity when only a request count ends the run). */
function stepLengthMs(load: LoadSpec): number {
  if (load.profile === 'sweep' && load.sweep) return load.sweep.stepSeconds * 1000;
  const seconds = plannedSeconds(load);
  return seconds === undefined ? Number.POSITIVE_INFINITY : seconds * 1000;
}

export class TargetRun {
  readonly steps = new Map<number, StepRecord>();
  private readonly stepStart = new Map<number, number>();
  private readonly options: RunStatsOptions;

  readonly plan: RunPlan;
  readonly target: PlannedTarget;
  private readonly hooks: TargetRunHooks;

  constructor(plan: RunPlan, target: PlannedTarget, hooks: TargetRunHooks) {
    this.plan = plan;
    this.target = target;
    this.hooks = hooks;
    this.options = statsOptions(plan);
  }

  /** First error message seen per error class (for run-failure messages and the report). */
  readonly errorSamples: Record<string, string> = {};
  /** Engine counters from the latest progress callback (all phases). */
  latestProgress: RunProgress | undefined;

  /**
   * Partial view for hand-off during the run: stats merged over the steps so far, with a provisional
   * window up to `nowMs` for the step still running. The live per-step stats are not modified.
   */
  currentStats(nowMs: number): RunStats {
    const merged = RunStats.merged(
      [...this.steps.values()].map((s) => s.stats),
      this.options,
    );
    for (const start of this.stepStart.values()) {
      const load = this.plan.load;
      const from = start + load.warmupSeconds * 1000;
      const to = Math.min(nowMs, start + stepLengthMs(load) - load.cooldownSeconds * 1000);
      if (to > from) merged.observeWindow(from, to);
    }
    return merged;
  }

  async run(signal: AbortSignal, gracePeriodMs: number, runLoad: RunLoad = engineRunLoad): Promise<TargetRunResult> {
    const name = this.target.name;
    const metrics = this.hooks.metrics;
    let outcome: RunOutcome | undefined;
    let error: string | undefined;
    try {
      outcome = await runLoad(
        this.target.spec,
        this.plan.load,
        this.plan.data,
        {
          onResult: (r) => {
            this.stepRecord(r.step).stats.addResult(r);
            if (!r.ok) {
              const cls = r.errorClass ?? 'unclassified';
              if (this.errorSamples[cls] === undefined) this.errorSamples[cls] = r.errorMessage ?? '(no message)';
            }
            metrics?.observe(r);
            this.hooks.onRequest?.(name, r);
          },
          onProgress: (p) => {
            this.latestProgress = p;
            metrics?.setInFlight(p.inFlight);
            this.hooks.onProgress?.(name, p);
          },
          onPhase: (e) => {
            this.onEvent(e);
            this.hooks.onEvent?.(name, e);
          },
        },
        { signal, gracePeriodMs, progressIntervalMs: 500 },
      );
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    // A step interrupted before its step-end event still gets its measured window.
    const end = outcome?.endedAt ?? Date.now();
    for (const [step, start] of this.stepStart) this.closeWindow(step, start, end);
    this.stepStart.clear();
    const steps = [...this.steps.values()].sort((a, b) => a.step - b.step);
    const result: TargetRunResult = {
      name,
      target: this.target,
      stats: RunStats.merged(
        steps.map((s) => s.stats),
        this.options,
      ),
      steps,
      errorSamples: { ...this.errorSamples },
    };
    if (outcome) result.outcome = outcome;
    if (error !== undefined) result.error = error;
    return result;
  }

  private stepRecord(step: number): StepRecord {
    let record = this.steps.get(step);
    if (!record) {
      record = { step, label: `step ${step}`, profile: this.plan.load.profile, stats: new RunStats(this.options) };
      this.steps.set(step, record);
    }
    return record;
  }

  private onEvent(e: PhaseEvent): void {
    const metrics = this.hooks.metrics;
    switch (e.kind) {
      case 'phase':
        metrics?.setPhase(e.phase);
        return;
      case 'step-start': {
        const record = this.stepRecord(e.step);
        record.label = e.label;
        record.profile = e.profile;
        if (e.rate !== undefined) record.targetRate = e.rate;
        this.stepStart.set(e.step, e.at);
        return;
      }
      case 'step-end': {
        const record = this.stepRecord(e.step);
        record.outcome = e.outcome;
        const start = this.stepStart.get(e.step);
        if (start !== undefined) this.closeWindow(e.step, start, e.at);
        this.stepStart.delete(e.step);
        return;
      }
      default:
        return;
    }
  }

  private closeWindow(step: number, start: number, end: number): void {
    const load = this.plan.load;
    const from = start + load.warmupSeconds * 1000;
    const to = Math.min(end, start + stepLengthMs(load) - load.cooldownSeconds * 1000);
    if (to > from) this.stepRecord(step).stats.observeWindow(from, to);
  }
}
