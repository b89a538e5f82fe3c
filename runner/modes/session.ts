/**
 * A `loadlm run` process: sets up metrics (server, Pushgateway), signals and outputs around one run
 * (one-shot) or a run every --interval until stopped (continuous), and returns the exit code.
 *
 * One-shot: run → summary/report/CSV/result → /metrics lingers for --linger → final push → exit code of the
 * run (see execute.ts). Continuous: the same per run, /metrics served throughout; the report and CSV files
 * are rewritten after each run (they always hold the latest run); each run uses seed + (run number − 1) so
 * consecutive runs do not replay identical prompts into the server's prefix cache. With `awaitStart` (the
 * operator's start barrier) the run waits, /metrics already up, for the agreed start time. A signal ends the
 * current run gracefully, writes its outputs, and the process exits 0.
 */
import { writeFile } from 'node:fs/promises';
import { ExitCode, exitCodeForSignal } from '../cli/exit-codes.ts';
import type { Logger } from '../cli/logger.ts';
import type { RunCommandOptions } from '../cli/run-options.ts';
import { runnerVersion } from '../cli/version.ts';
import type { RunPlan } from '../config/plan.ts';
import type { RunLoad } from '../engine/types.ts';
import { type MetricsPusher, startPushing } from '../metrics/pushgateway.ts';
import {
  type OptionalLabelName,
  optionalLabelNames,
  RunnerMetrics,
  type RunOutcomeLabel,
  type TargetMetrics,
} from '../metrics/runner-metrics.ts';
import { type MetricsServer, MetricsServerError, startMetricsServer } from '../metrics/server.ts';
import { RequestCsvWriter, renderSummaryCsv } from '../report/csv.ts';
import { ProgressReporter, type ProgressStyle } from '../report/progress.ts';
import { serializeReport } from '../report/report.ts';
import { FileResultSink, type ResultSink } from '../report/result-sink.ts';
import { renderSummary } from '../report/summary-table.ts';
import { executeRun, type RunRecord } from './execute.ts';
import { sleep, watchSignals } from './signals.ts';

export interface SessionIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

export interface SessionOptions {
  plan: RunPlan;
  options: RunCommandOptions;
  logger: Logger;
  io?: SessionIo;
  /** Engine override for tests. */
  runLoad?: RunLoad;
  /** Result transport override (the operator's ConfigMap sink); default: --result-file. */
  sink?: ResultSink;
  /**
   * The operator's start barrier, awaited once /metrics is up: resolves with the agreed start time (epoch ms)
   * or undefined (start now). A rejection fails the process with exit code 3 before any request is sent.
   */
  awaitStart?(signal: AbortSignal): Promise<number | undefined>;
  /** Why the process exits non-zero (e.g. for the pod's termination message). */
  onFailure?(message: string): void;
}

export async function runSession(s: SessionOptions): Promise<number> {
  const failure: { message?: string } = {};
  const exitCode = await runSessionInner(s, failure);
  if (exitCode !== ExitCode.Success) s.onFailure?.(failure.message ?? `loadlm run exited with code ${exitCode}`);
  return exitCode;
}

async function runSessionInner(s: SessionOptions, failure: { message?: string }): Promise<number> {
  const { plan, options, logger } = s;
  const io = s.io ?? { stdout: process.stdout, stderr: process.stderr };
  const signals = watchSignals({
    onFirst: (signal) =>
      logger.warn(
        { signal, gracePeriodSeconds: options.mode.gracePeriodSeconds },
        'stopping: no new requests; in-flight requests get the grace period (send the signal again to exit now)',
      ),
    onSecond: (signal) => logger.warn({ signal }, 'second signal: exiting now'),
  });

  let metrics: RunnerMetrics | undefined;
  const targetMetrics = new Map<string, TargetMetrics>();
  let server: MetricsServer | undefined;
  let pusher: MetricsPusher | undefined;
  try {
    if (options.metrics.enabled || options.metrics.pushgateway) {
      const optional = optionalLabelNames.filter((n): n is OptionalLabelName => plan.labels[n] !== undefined);
      metrics = new RunnerMetrics({ optionalLabels: optional, version: runnerVersion });
      for (const t of plan.targets) {
        targetMetrics.set(t.name, metrics.forTarget({ ...plan.labels, target: t.name, model: t.spec.model }));
      }
    }
    if (metrics && options.metrics.enabled) {
      try {
        server = await startMetricsServer(metrics.registry, options.metrics.host, options.metrics.port);
      } catch (err) {
        if (err instanceof MetricsServerError) {
          io.stderr.write(`loadlm: ${err.message}\n`);
          failure.message = err.message;
          return ExitCode.Usage;
        }
        throw err;
      }
      logger.info({ url: server.url, port: server.port }, 'metrics server listening');
    }
    if (metrics && options.metrics.pushgateway) {
      const grouping: Record<string, string> = { environment: plan.labels.environment };
      if (plan.labels.loadtest) grouping.loadtest = plan.labels.loadtest;
      if (plan.load.share) grouping.shard = String(plan.load.share.index);
      pusher = startPushing(metrics.registry, {
        url: options.metrics.pushgateway.url,
        intervalSeconds: options.metrics.pushgateway.intervalSeconds,
        grouping,
        onError: (message) => logger.warn({ error: message }, 'pushgateway push failed'),
      });
    }

    if (s.awaitStart) {
      const started = await startBarrier(s.awaitStart, signals, logger, failure);
      if (typeof started === 'object') return started.exitCode;
      if (started !== undefined) plan.load.startAt = started;
    }

    const sink = s.sink ?? (options.output.resultFile ? new FileResultSink(options.output.resultFile) : undefined);
    const requestCsv =
      options.output.csvPath && options.output.csvPerRequest ? new RequestCsvWriter(options.output.csvPath) : undefined;
    const style: ProgressStyle =
      options.output.progress === 'auto' ? (io.stderr.isTTY ? 'bar' : 'lines') : options.output.progress;

    const runOnce = async (runIndex: number | undefined): Promise<RunRecord> => {
      const runPlan =
        runIndex === undefined || runIndex === 1
          ? plan
          : { ...plan, data: { ...plan.data, seed: plan.data.seed + runIndex - 1 } };
      const progress =
        style === 'off'
          ? undefined
          : new ProgressReporter(style, io.stderr, runPlan.load, options.output.progressIntervalSeconds * 1000);
      logger.info(
        {
          runIndex,
          environment: plan.labels.environment,
          targets: plan.targets.map((t) => ({ name: t.name, model: t.spec.model, api: t.spec.api })),
          profile: plan.load.profile,
        },
        'run starting',
      );
      const record = await executeRun({
        plan: runPlan,
        logger,
        metrics: targetMetrics,
        ...(progress ? { progress } : {}),
        signal: signals.signal,
        signalName: () => signals.received(),
        gracePeriodMs: options.mode.gracePeriodSeconds * 1000,
        ...(sink ? { sink } : {}),
        resultIntervalMs: options.output.resultIntervalSeconds * 1000,
        ...(requestCsv ? { requestCsv } : {}),
        ...(runIndex !== undefined ? { runIndex } : {}),
        ...(s.runLoad ? { runLoad: s.runLoad } : {}),
      });
      for (const t of targetMetrics.values()) t.runFinished(record.status as RunOutcomeLabel, Date.now());
      if (record.exitCode !== ExitCode.Success) failure.message = record.report.outcome.messages.join('; ');
      const written = await writeOutputs(record, options, io, logger);
      logger.info({ runIndex, status: record.status, exitCode: record.exitCode }, 'run finished');
      if (!written && record.exitCode === ExitCode.Success) {
        failure.message = 'the run succeeded but a requested report/CSV file could not be written';
        return { ...record, exitCode: ExitCode.RunFailed };
      }
      return record;
    };

    let exitCode: number;
    if (options.mode.continuous) {
      for (let runIndex = 1; !signals.signal.aborted; runIndex++) {
        const started = Date.now();
        await runOnce(runIndex);
        const wait = started + options.mode.intervalSeconds * 1000 - Date.now();
        if (wait > 0 && !signals.signal.aborted) {
          logger.info({ nextRunInSeconds: Math.round(wait / 1000) }, 'waiting for the next run');
          await sleep(wait, signals.signal);
        }
      }
      exitCode = ExitCode.Success;
    } else {
      exitCode = (await runOnce(undefined)).exitCode;
    }
    if (requestCsv) {
      await requestCsv.close().catch((err: unknown) => {
        logger.error({ err: (err as Error).message }, 'writing the per-request CSV failed');
        if (exitCode === ExitCode.Success) exitCode = ExitCode.RunFailed;
      });
    }
    if (server && options.metrics.lingerSeconds > 0 && !options.mode.continuous && !signals.signal.aborted) {
      logger.info({ seconds: options.metrics.lingerSeconds }, 'keeping /metrics up for the last scrapes (--linger)');
      await sleep(options.metrics.lingerSeconds * 1000, signals.signal);
    }
    return exitCode;
  } finally {
    await pusher?.stop();
    await server?.close();
    signals.dispose();
  }
}

/** Waits for the start time; a failure (or a signal) while waiting becomes the process's exit code. */
async function startBarrier(
  awaitStart: NonNullable<SessionOptions['awaitStart']>,
  signals: ReturnType<typeof watchSignals>,
  logger: Logger,
  failure: { message?: string },
): Promise<number | undefined | { exitCode: number }> {
  logger.info('waiting for the start signal');
  try {
    const startAt = await awaitStart(signals.signal);
    logger.info({ startAt: startAt === undefined ? 'now' : new Date(startAt).toISOString() }, 'start signal received');
    return startAt;
  } catch (err) {
    const signal = signals.received();
    if (signals.signal.aborted && signal) {
      failure.message = `interrupted by ${signal} while waiting for the start signal; no request was sent`;
      logger.warn({ signal }, failure.message);
      return { exitCode: exitCodeForSignal(signal) };
    }
    failure.message = `start barrier failed: ${(err as Error).message}`;
    logger.error({ err: (err as Error).message }, 'start barrier failed; no request was sent');
    return { exitCode: ExitCode.RunFailed };
  }
}

/** Summary table, report, CSV. Returns false when a requested file could not be written. */
async function writeOutputs(
  record: RunRecord,
  options: RunCommandOptions,
  io: SessionIo,
  logger: Logger,
): Promise<boolean> {
  let ok = true;
  if (!options.output.quiet) io.stdout.write(renderSummary(record.report));
  const write = async (path: string, text: string, what: string) => {
    try {
      await writeFile(path, text);
      logger.info({ path }, `${what} written`);
    } catch (err) {
      ok = false;
      logger.error(
        { path, err: (err as NodeJS.ErrnoException).code ?? (err as Error).message },
        `writing the ${what} failed`,
      );
    }
  };
  if (options.output.reportPath) await write(options.output.reportPath, serializeReport(record.report), 'report');
  if (options.output.csvPath && !options.output.csvPerRequest) {
    await write(options.output.csvPath, renderSummaryCsv(record.report), 'CSV');
  }
  return ok;
}
