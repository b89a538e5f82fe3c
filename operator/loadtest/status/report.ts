/**
 * The full merged report (`status.reportRef`): ConfigMap `<lt>-report`, key `report.json`, labelled as the
 * LoadTest's report (component `report`, so cleanup keeps it) and owned by the LoadTest. It reads like the
 * CLI's `--report` (kind LoadTestReport, schemaVersion 1, the runner's summary shape, raw mergeable
 * histograms, per-step results of a sweep merged across runners), plus per-runner outcomes and any result
 * problems. Above ~900 KiB of JSON it is stored gzipped under `report.json.gz` in binaryData; a ConfigMap holds
 * at most 1 MiB. A report too large even gzipped loses its per-step results first (targets say so in
 * `stepsOmitted`).
 */
import { gzipSync } from 'node:zlib';
import type { LoadTest, LoadTestStatus, ThresholdResult } from '../../../api/loadtest.ts';
import { inlineResultLimitBytes } from '../../../runner/handoff/protocol.ts';
import { finiteOrNull } from '../../../runner/report/format.ts';
import { type ReportSummary, reportSummary, type StepReport } from '../../../runner/report/report.ts';
import type { RunStats, RunStatsSnapshot } from '../../../runner/stats/index.ts';
import type { ConfigMap } from '../desired/kube-types.ts';
import {
  loadTestRef,
  ownerReference,
  reportConfigMapName,
  reportGzipKey,
  reportKey,
  reportLabels,
} from '../desired/names.ts';
import { renderRunnerConfig } from '../desired/runner-config.ts';
import type { MergedResults, ResultProblem, RunnerView } from './results.ts';
import { type MergedStep, mergeTargetSteps } from './steps.ts';

/** One sweep step of a target, all runners merged: the runner report's StepReport plus how many runners ran it. */
export interface ReportStep extends StepReport {
  runners: number;
}

export interface ReportTarget {
  name: string;
  model: string;
  summary: ReportSummary;
  /** Multi-step runs (sweeps) only, in step order; the same shape as the runner report's `targets[].steps`. */
  steps?: ReportStep[];
  /** Why a multi-step run has no steps here (a runner sent none or bad ones, or the report would not fit). */
  stepsOmitted?: string;
  stats: RunStatsSnapshot;
}

export interface LoadTestReport {
  apiVersion: 'loadlm.dev/v1alpha1';
  kind: 'LoadTestReport';
  schemaVersion: 1;
  metadata: {
    loadTest: { namespace: string; name: string; uid: string };
    generatedBy: 'loadlm-operator';
    generatedAt: string;
    startedAt?: string;
    completedAt?: string;
    runners: number;
  };
  labels: Record<string, string>;
  /** The runner config of the test (no secrets). */
  config: Record<string, unknown>;
  outcome: { reason: string; message: string };
  /** All targets merged, in the runner report's shape. */
  summary: ReportSummary;
  slo: { met: boolean; thresholds: ThresholdResult[] } | null;
  targets: ReportTarget[];
  runners: {
    index: number;
    target: string;
    shard: { index: number; count: number };
    pod?: string;
    final: boolean;
    status?: string;
    exitCode?: number;
    stopReason?: string;
    messages: string[];
    requests: { completed: number; ok: number; failed: number; late: number };
  }[];
  problems: ResultProblem[];
  stats: RunStatsSnapshot;
}

export interface ReportInput {
  results: MergedResults;
  thresholds: ThresholdResult[];
  outcome: { reason: string; message: string };
  startedAt?: string;
  completedAt?: string;
  now?: Date;
  /** Ports of named serviceRef ports, as given to renderRunnerConfig. */
  servicePorts?: Record<string, number>;
}

export function buildReport(lt: LoadTest, input: ReportInput): LoadTestReport {
  const ref = loadTestRef(lt);
  const { results } = input;
  const environment = lt.spec.environment;
  const labels: Record<string, string> = {
    environment: environment?.name || 'default',
    ...(environment?.provider ? { provider: environment.provider } : {}),
    ...(environment?.cluster ? { cluster: environment.cluster } : {}),
    ...(environment?.region ? { region: environment.region } : {}),
    loadtest: ref.name,
  };
  let config: Record<string, unknown>;
  try {
    config = renderRunnerConfig(lt, input.servicePorts ? { servicePorts: input.servicePorts } : {}).config;
  } catch {
    config = {};
  }
  return {
    apiVersion: 'loadlm.dev/v1alpha1',
    kind: 'LoadTestReport',
    schemaVersion: 1,
    metadata: {
      loadTest: { namespace: ref.namespace, name: ref.name, uid: ref.uid },
      generatedBy: 'loadlm-operator',
      generatedAt: (input.now ?? new Date()).toISOString(),
      ...(input.startedAt ? { startedAt: input.startedAt } : {}),
      ...(input.completedAt ? { completedAt: input.completedAt } : {}),
      runners: lt.spec.parallelism * lt.spec.targets.length,
    },
    labels,
    config,
    outcome: input.outcome,
    summary: reportSummary(results.merged),
    slo:
      input.thresholds.length > 0 ? { met: input.thresholds.every((t) => t.met), thresholds: input.thresholds } : null,
    targets: [...results.byTarget].map(([name, stats]) =>
      reportTarget(
        name,
        lt.spec.targets.find((target) => target.name === name)?.model ?? '',
        stats,
        results.runners.filter((runner) => runner.target === name),
      ),
    ),
    runners: results.runners.map((runner) => ({
      index: runner.index,
      target: runner.target,
      shard: runner.shard,
      ...(runner.pod ? { pod: runner.pod } : {}),
      final: runner.final,
      ...(runner.status ? { status: runner.status } : {}),
      ...(runner.exitCode !== undefined ? { exitCode: runner.exitCode } : {}),
      ...(runner.stopReason ? { stopReason: runner.stopReason } : {}),
      messages: runner.messages,
      requests: { ...runner.stats.requests },
    })),
    problems: results.problems,
    stats: results.merged.toJSON(),
  };
}

function reportTarget(name: string, model: string, stats: RunStats, runners: readonly RunnerView[]): ReportTarget {
  const target: ReportTarget = { name, model, summary: reportSummary(stats), stats: stats.toJSON() };
  const steps = mergeTargetSteps(runners);
  if (steps && 'omitted' in steps) target.stepsOmitted = steps.omitted;
  else if (steps) target.steps = steps.steps.map(reportStep);
  return target;
}

function reportStep(s: MergedStep): ReportStep {
  return {
    step: s.step,
    label: s.label,
    profile: s.profile,
    ...(s.targetRate !== undefined ? { targetRate: s.targetRate } : {}),
    ...(s.achievedRate !== undefined ? { achievedRate: s.achievedRate } : {}),
    ...(s.completedRate !== undefined ? { completedRate: s.completedRate } : {}),
    ...(s.saturated !== undefined ? { saturated: s.saturated } : {}),
    ...(s.saturationReason !== undefined ? { saturationReason: s.saturationReason } : {}),
    runners: s.runners,
    summary: reportSummary(s.stats),
    stats: s.stats.toJSON(),
  };
}

/** The report without per-step results, each target that had some saying why. */
export function reportWithoutSteps(report: LoadTestReport, reason: string): LoadTestReport {
  return {
    ...report,
    targets: report.targets.map((t) => {
      if (!t.steps) return t;
      const { steps: _dropped, ...rest } = t;
      return { ...rest, stepsOmitted: reason };
    }),
  };
}

export function serializeReport(report: LoadTestReport): string {
  return `${JSON.stringify(report, finiteOrNull)}\n`;
}

/** The report ConfigMap and the `status.reportRef` pointing at it. */
export function renderReportConfigMap(
  lt: LoadTest,
  report: LoadTestReport,
): { configMap: ConfigMap; reportRef: NonNullable<LoadTestStatus['reportRef']>; bytes: number } {
  const ref = loadTestRef(lt);
  let encoded = encodeReport(report);
  if (encoded.tooLarge && report.targets.some((t) => t.steps)) {
    // Per-step results are the first to go: the whole-run figures must be kept.
    const reason =
      `left out: with per-step results the report is ${encoded.bytes} bytes of JSON (${encoded.tooLarge} gzipped and ` +
      `base64-encoded), more than a ConfigMap holds`;
    encoded = encodeReport(reportWithoutSteps(report, reason));
  }
  const { json, gzip, bytes } = encoded;
  if (encoded.tooLarge !== undefined) {
    throw new Error(`the report of LoadTest ${ref.namespace}/${ref.name} is ${bytes} bytes, too large even gzipped`);
  }
  const name = reportConfigMapName(ref.name);
  return {
    configMap: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace: ref.namespace,
        labels: reportLabels(ref.name),
        ownerReferences: [ownerReference(lt)],
      },
      ...(gzip === undefined ? { data: { [reportKey]: json } } : { binaryData: { [reportGzipKey]: gzip } }),
    },
    reportRef: { name, key: gzip === undefined ? reportKey : reportGzipKey },
    bytes: gzip === undefined ? bytes : gzip.length,
  };
}

/** The report as JSON, gzipped when it would not fit inline; `tooLarge` (the gzip size) when it fits neither way. */
function encodeReport(report: LoadTestReport): { json: string; gzip?: string; bytes: number; tooLarge?: number } {
  const json = serializeReport(report);
  const bytes = Buffer.byteLength(json);
  if (bytes <= inlineResultLimitBytes) return { json, bytes };
  const gzip = gzipSync(json).toString('base64');
  return { json, gzip, bytes, ...(gzip.length > inlineResultLimitBytes ? { tooLarge: gzip.length } : {}) };
}
