/**
 * Executes one run of a plan: every target concurrently (each with its own engine and connection pool),
 * feeding statistics, metrics, progress, per-request CSV and partial results; then decides the outcome.
 *
 * Outcome (exit code) rules, in order:
 * 1. interrupted by a signal → `interrupted` (130 SIGINT / 143 SIGTERM);
 * 2. a target could not run, stopped at --max-errors, got no successful request at all, or measured
 *    nothing (no request completed in its measured window) → `failed` (3);
 * 3. an SLO threshold breached on any target → `slo_breached` (1);
 * 4. otherwise `success` (0).
 */
import { ExitCode, exitCodeForSignal } from '../cli/exit-codes.ts';
import type { Logger } from '../cli/logger.ts';
import type { RunPlan } from '../config/plan.ts';
import type { RunLoad } from '../engine/types.ts';
import type { TargetMetrics } from '../metrics/runner-metrics.ts';
import type { RequestCsvWriter } from '../report/csv.ts';
import type { ProgressReporter } from '../report/progress.ts';
import {
  buildReport,
  type EvaluatedTarget,
  evaluateTargets,
  type RunReport,
  type RunStatus,
} from '../report/report.ts';
import { type ResultSink, type RunnerResult, type RunnerResultTarget, resultSteps } from '../report/result-sink.ts';
import { TargetRun, type TargetRunResult } from './target-run.ts';

export interface RunContext {
  plan: RunPlan;
  logger: Logger;
  /** Bound metrics per target name (absent with --no-metrics). */
  metrics?: Map<string, TargetMetrics>;
  progress?: ProgressReporter;
  /** Aborts the run (first SIGTERM/SIGINT). */
  signal: AbortSignal;
  /** Which signal aborted it, for the exit code. */
  signalName?: () => NodeJS.Signals | undefined;
  gracePeriodMs: number;
  sink?: ResultSink;
  resultIntervalMs: number;
  requestCsv?: RequestCsvWriter;
  runIndex?: number;
  /** The engine (tests inject fakes). */
  runLoad?: RunLoad;
}

export interface RunRecord {
  report: RunReport;
  status: RunStatus;
  exitCode: number;
}

export async function executeRun(ctx: RunContext): Promise<RunRecord> {
  const { plan, logger } = ctx;
  const startedAt = Date.now();
  const runs = plan.targets.map(
    (target) =>
      new TargetRun(plan, target, {
        ...(ctx.metrics?.get(target.name) ? { metrics: ctx.metrics.get(target.name) } : {}),
        onProgress: (name, p) => ctx.progress?.update(name, p),
        ...(ctx.requestCsv ? { onRequest: (name, r) => ctx.requestCsv?.write(name, r) } : {}),
        onEvent: (name, e) => {
          if (e.kind === 'calibrated') {
            logger.info({ target: name, calibration: e.calibration }, 'prompt calibration');
          } else if (e.kind === 'step-start') {
            logger.info({ target: name, step: e.step, label: e.label, rate: e.rate }, 'step started');
          } else if (e.kind === 'stopping') {
            logger.info({ target: name, reason: e.reason }, 'stopping');
          } else if (e.kind === 'step-end' && e.outcome.saturated) {
            logger.info({ target: name, step: e.step, reason: e.outcome.saturationReason }, 'sweep step saturated');
          }
        },
      }),
  );
  const startedIso = new Date(startedAt).toISOString();
  const partial = (): RunnerResult => ({
    ...resultEnvelope(plan, startedIso, false),
    targets: runs.map((r) => {
      const t: RunnerResultTarget = {
        name: r.target.name,
        model: r.target.spec.model,
        stats: r.currentStats(Date.now()).toJSON(),
      };
      return t;
    }),
  });
  const partialTimer = ctx.sink
    ? setInterval(() => {
        ctx.sink?.partial(partial()).catch((err: unknown) => {
          logger.warn({ err: (err as Error).message }, 'writing partial results failed');
        });
      }, ctx.resultIntervalMs)
    : undefined;
  partialTimer?.unref();
  ctx.progress?.start();
  let results: TargetRunResult[];
  try {
    results = await Promise.all(runs.map((r) => r.run(ctx.signal, ctx.gracePeriodMs, ctx.runLoad)));
  } finally {
    if (partialTimer) clearInterval(partialTimer);
    ctx.progress?.stop();
  }
  const endedAt = Date.now();
  const evaluated = evaluateTargets(plan, results);
  const { status, exitCode, messages } = decideOutcome(evaluated, ctx);
  const report = buildReport({
    plan,
    targets: evaluated,
    startedAt,
    endedAt,
    status,
    exitCode,
    messages,
    ...(ctx.runIndex !== undefined ? { runIndex: ctx.runIndex } : {}),
  });
  if (ctx.sink) {
    const final: RunnerResult = {
      ...resultEnvelope(plan, startedIso, true),
      status,
      exitCode,
      messages,
      targets: results.map((r) => {
        const t: RunnerResultTarget = { name: r.name, model: r.target.spec.model, stats: r.stats.toJSON() };
        const steps = resultSteps(r.steps);
        if (steps) t.steps = steps;
        if (r.outcome) {
          t.counts = r.outcome.counts;
          t.stopReason = r.outcome.stopReason;
        }
        if (r.error !== undefined) t.error = r.error;
        return t;
      }),
    };
    try {
      await ctx.sink.final(final);
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'writing the final result failed');
    }
  }
  return { report, status, exitCode };
}

function resultEnvelope(plan: RunPlan, startedAt: string, final: boolean) {
  return {
    apiVersion: 'loadlm.dev/v1alpha1' as const,
    kind: 'RunnerResult' as const,
    schemaVersion: 1 as const,
    final,
    updatedAt: new Date().toISOString(),
    startedAt,
    labels: plan.labels,
    shard: plan.load.share ?? { index: 0, count: 1 },
  };
}

function describeErrors(r: TargetRunResult): string {
  const first = Object.entries(r.errorSamples)[0];
  return first ? ` First ${first[0]} error: ${first[1]}` : '';
}

export function decideOutcome(
  targets: EvaluatedTarget[],
  ctx: Pick<RunContext, 'signal' | 'signalName'>,
): { status: RunStatus; exitCode: number; messages: string[] } {
  const messages: string[] = [];
  if (ctx.signal.aborted) {
    const signal = ctx.signalName?.() ?? 'SIGTERM';
    messages.push(`interrupted by ${signal}: stopped sending, in-flight requests were given the grace period`);
    return { status: 'interrupted', exitCode: exitCodeForSignal(signal), messages };
  }
  for (const { result, summary } of targets) {
    const counts = result.outcome?.counts;
    if (result.error !== undefined) {
      messages.push(`target ${result.name}: the run could not start: ${result.error}`);
    } else if (result.outcome?.stopReason === 'maxErrors') {
      messages.push(
        `target ${result.name}: stopped after ${counts?.failed ?? '?'} failed requests (--max-errors).${describeErrors(result)}`,
      );
    } else if (counts && counts.ok === 0) {
      messages.push(
        `target ${result.name}: no request succeeded (${counts.failed} failed, ${counts.completed} completed).${describeErrors(result)}`,
      );
    } else if (summary.requests.completed === 0) {
      messages.push(
        `target ${result.name}: no request completed in the measured window (warmup/cooldown too long for the run, or the run stopped early)`,
      );
    }
  }
  if (messages.length > 0) return { status: 'failed', exitCode: ExitCode.RunFailed, messages };
  const breached = targets.flatMap((t) =>
    t.thresholds
      .filter((x) => !x.met)
      .map((x) => `target ${t.result.name}: SLO ${x.name} breached: ${x.observedText} (limit ${x.limitText})`),
  );
  if (breached.length > 0) return { status: 'slo_breached', exitCode: ExitCode.SloBreached, messages: breached };
  return { status: 'success', exitCode: ExitCode.Success, messages };
}
