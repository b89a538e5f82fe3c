/**
 * The versioned JSON report of one run (`apiVersion: loadlm.dev/v1alpha1`, `kind: LoadTestReport`,
 * `schemaVersion: 1`). It carries the summary (measured window only), the config without secrets, the
 * environment labels, per-target and per-step results, and the raw RunStats snapshots (histograms
 * included) so reports can be merged or compared later with `RunStats.fromJSON` — never by averaging the
 * summary percentiles. Unmeasured statistics (NaN) are written as null.
 */
import { hostname } from 'node:os';
import { runnerVersion } from '../cli/version.ts';
import type { EnvironmentLabelValues, RunPlan } from '../config/plan.ts';
import type { Calibration, RequestCounts, StopReason } from '../engine/types.ts';
import type { TargetRunResult } from '../modes/target-run.ts';
import { RunStats, type RunStatsSnapshot, type RunSummary, summarizeRun } from '../stats/index.ts';
import { finiteOrNull } from './format.ts';
import { evaluateSlo, type ThresholdOutcome } from './slo.ts';

export const reportApiVersion = 'loadlm.dev/v1alpha1';
export const reportKind = 'LoadTestReport';
export const reportSchemaVersion = 1;

export type RunStatus = 'success' | 'slo_breached' | 'failed' | 'interrupted';

/** RunSummary plus figures derived from it. */
export interface ReportSummary extends RunSummary {
  /** Mean requests in flight over the window (Little's law: Σ e2e of successful requests / window). */
  meanConcurrency: number;
}

export interface StepReport {
  step: number;
  label: string;
  profile: string;
  targetRate?: number;
  achievedRate?: number;
  completedRate?: number;
  saturated?: boolean;
  saturationReason?: string;
  summary: ReportSummary;
  stats: RunStatsSnapshot;
}

export interface TargetReport {
  name: string;
  model: string;
  api: string;
  stream: boolean;
  /** Userinfo removed. */
  url: string;
  stopReason?: StopReason;
  error?: string;
  calibration?: Calibration;
  promptTokenError?: { meanAbsTokens: number; meanRelative: number; samples: number };
  /** Engine counters over all phases (warmup and cooldown included). */
  counts?: RequestCounts;
  /** The first error message seen per error class. */
  errorSamples: Record<string, string>;
  summary: ReportSummary;
  thresholds: ThresholdOutcome[];
  steps: StepReport[];
  stats: RunStatsSnapshot;
}

export interface RunReport {
  apiVersion: typeof reportApiVersion;
  kind: typeof reportKind;
  schemaVersion: typeof reportSchemaVersion;
  metadata: {
    runner: { name: 'loadlm'; version: string; host: string; pid: number };
    /** 1-based run number in continuous mode. */
    runIndex?: number;
    startedAt: string;
    endedAt: string;
    durationSeconds: number;
  };
  labels: EnvironmentLabelValues;
  config: Record<string, unknown>;
  outcome: { status: RunStatus; exitCode: number; messages: string[] };
  /** All targets merged. */
  summary: ReportSummary;
  slo: { met: boolean; thresholds: Array<ThresholdOutcome & { target: string }> } | null;
  targets: TargetReport[];
  stats: RunStatsSnapshot;
}

export function reportSummary(stats: RunStats): ReportSummary {
  const s = summarizeRun(stats);
  const e2e = s.latency.e2e;
  const busySeconds = e2e.count > 0 ? e2e.mean * e2e.count : 0;
  const window = s.rates.windowSeconds;
  return { ...s, meanConcurrency: window > 0 ? busySeconds / window : Number.NaN };
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//REDACTED@');
}

/** Per-target summaries and SLO outcomes, before the run's status is decided. */
export interface EvaluatedTarget {
  result: TargetRunResult;
  summary: ReportSummary;
  thresholds: ThresholdOutcome[];
}

export function evaluateTargets(plan: RunPlan, results: TargetRunResult[]): EvaluatedTarget[] {
  return results.map((result) => {
    const summary = reportSummary(result.stats);
    return { result, summary, thresholds: evaluateSlo(plan.slo, summary) };
  });
}

export interface BuildReportInput {
  plan: RunPlan;
  targets: EvaluatedTarget[];
  startedAt: number;
  endedAt: number;
  status: RunStatus;
  exitCode: number;
  messages: string[];
  runIndex?: number;
}

export function buildReport(input: BuildReportInput): RunReport {
  const { plan } = input;
  const merged = RunStats.merged(input.targets.map((t) => t.result.stats));
  const hasSlo = input.targets.some((t) => t.thresholds.length > 0);
  const thresholds = input.targets.flatMap((t) => t.thresholds.map((x) => ({ target: t.result.name, ...x })));
  const report: RunReport = {
    apiVersion: reportApiVersion,
    kind: reportKind,
    schemaVersion: reportSchemaVersion,
    metadata: {
      runner: { name: 'loadlm', version: runnerVersion, host: hostname(), pid: process.pid },
      ...(input.runIndex !== undefined ? { runIndex: input.runIndex } : {}),
      startedAt: new Date(input.startedAt).toISOString(),
      endedAt: new Date(input.endedAt).toISOString(),
      durationSeconds: (input.endedAt - input.startedAt) / 1000,
    },
    labels: plan.labels,
    config: plan.effectiveConfig,
    outcome: { status: input.status, exitCode: input.exitCode, messages: input.messages },
    summary: reportSummary(merged),
    slo: hasSlo ? { met: thresholds.every((t) => t.met), thresholds } : null,
    targets: input.targets.map((t) => targetReport(t)),
    stats: merged.toJSON(),
  };
  return report;
}

function targetReport(t: EvaluatedTarget): TargetReport {
  const { result } = t;
  const spec = result.target.spec;
  const out: TargetReport = {
    name: result.name,
    model: spec.model,
    api: spec.api,
    stream: spec.stream,
    url: redactUrl(spec.url),
    summary: t.summary,
    errorSamples: result.errorSamples,
    thresholds: t.thresholds,
    steps: result.steps.map((s) => {
      const step: StepReport = {
        step: s.step,
        label: s.label,
        profile: s.profile,
        summary: reportSummary(s.stats),
        stats: s.stats.toJSON(),
      };
      if (s.targetRate !== undefined) step.targetRate = s.targetRate;
      const o = s.outcome;
      if (o?.achievedRate !== undefined) step.achievedRate = o.achievedRate;
      if (o?.completedRate !== undefined) step.completedRate = o.completedRate;
      if (o?.saturated !== undefined) step.saturated = o.saturated;
      if (o?.saturationReason !== undefined) step.saturationReason = o.saturationReason;
      return step;
    }),
    stats: result.stats.toJSON(),
  };
  const o = result.outcome;
  if (o) {
    out.stopReason = o.stopReason;
    out.counts = o.counts;
    if (o.calibration) out.calibration = o.calibration;
    if (o.promptTokenError) out.promptTokenError = o.promptTokenError;
  }
  if (result.error !== undefined) out.error = result.error;
  return out;
}

/** Serialised report: NaN → null, two-space indent, trailing newline. */
export function serializeReport(report: RunReport): string {
  return `${JSON.stringify(report, finiteOrNull, 2)}\n`;
}
