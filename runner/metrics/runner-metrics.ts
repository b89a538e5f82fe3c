/**
 * The runner's Prometheus metrics. Names follow the design documents' "guidellm-runner" so their PromQL
 * (`rate(guidellm_requests_total{environment="development"}[1m])`,
 * `histogram_quantile(0.95, rate(guidellm_ttft_seconds_bucket[5m]))`) works unchanged.
 *
 * Labels on every runner series: `environment`, `target`, `model`, plus `provider`, `cluster`, `region` and
 * `loadtest` when the run was given them (the label set is fixed per process). Never a per-request label.
 * Bounded extra labels: `status` (success|error), `error_class` (connect|timeout|http|broken_stream|
 * bad_payload|cancelled), `http_status` (the code for `http` errors, else empty), `phase`, `outcome`.
 *
 * Which requests count: request counters, token counters and latency histograms take only requests in the
 * **measure** phase — warmup and cooldown are excluded, exactly as in the JSON report, so
 * `increase(guidellm_requests_total[run])` equals the report's request count. `guidellm_requests_in_flight`
 * is the live number in flight (all phases) and `guidellm_run_phase` says which phase is running.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Phase, RequestResult } from '../engine/types.ts';
import { FastHistogram, type HistogramSeries } from './fast-histogram.ts';

/**
 * Latency buckets (seconds) for TTFT and end-to-end latency: 5 ms .. 10 min, roughly 1-2-3-5 steps, fine
 * enough near typical TTFTs (50 ms - 2 s) that `histogram_quantile` interpolation stays within ~25 %.
 */
export const latencyBuckets = [
  0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 45,
  60, 90, 120, 180, 300, 600,
];

/** Per-token buckets (seconds) for ITL and TPOT: 0.5 ms .. 10 s (decode steps are typically 5-100 ms). */
export const tokenBuckets = [
  0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.075, 0.1, 0.125,
  0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5, 5, 10,
];

/** Dispatch-lag buckets (seconds): 50 µs .. 60 s; a healthy runner sits in the first few. */
export const dispatchLagBuckets = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

export const baseLabelNames = ['environment', 'target', 'model'] as const;
export const optionalLabelNames = ['provider', 'cluster', 'region', 'loadtest'] as const;
export type OptionalLabelName = (typeof optionalLabelNames)[number];

/** Labels identifying one target of a run. Optional ones are omitted from every series when unset. */
export interface TargetLabels {
  environment: string;
  target: string;
  model: string;
  provider?: string;
  cluster?: string;
  region?: string;
  loadtest?: string;
}

export type RunOutcomeLabel = 'success' | 'slo_breached' | 'failed' | 'interrupted';

const phases: readonly (Phase | 'idle')[] = ['warmup', 'measure', 'cooldown', 'idle'];

export interface RunnerMetricsOptions {
  /** Which optional labels this process sets (the label set must be fixed up front). */
  optionalLabels: readonly OptionalLabelName[];
  /** Node process metrics (`process_*`, `nodejs_*`). Default true. */
  processMetrics?: boolean;
  version: string;
}

export class RunnerMetrics {
  readonly registry = new Registry();
  readonly labelNames: readonly string[];
  private readonly requests: Counter<string>;
  private readonly errors: Counter<string>;
  private readonly late: Counter<string>;
  private readonly promptTokens: Counter<string>;
  private readonly outputTokens: Counter<string>;
  private readonly inFlight: Gauge<string>;
  private readonly phase: Gauge<string>;
  private readonly runs: Counter<string>;
  private readonly lastRunEnd: Gauge<string>;
  private readonly ttft: FastHistogram;
  private readonly itl: FastHistogram;
  private readonly tpot: FastHistogram;
  private readonly e2e: FastHistogram;
  private readonly dispatchLag: FastHistogram;

  constructor(options: RunnerMetricsOptions) {
    const registry = this.registry;
    const labels = [...baseLabelNames, ...optionalLabelNames.filter((n) => options.optionalLabels.includes(n))];
    this.labelNames = labels;
    const registers = [registry];
    this.requests = new Counter({
      name: 'guidellm_requests_total',
      help: 'Completed measure-phase requests by status (success|error).',
      labelNames: [...labels, 'status'],
      registers,
    });
    this.errors = new Counter({
      name: 'guidellm_request_errors_total',
      help: 'Failed measure-phase requests by error class; http_status is set for error_class="http".',
      labelNames: [...labels, 'error_class', 'http_status'],
      registers,
    });
    this.late = new Counter({
      name: 'guidellm_requests_late_total',
      help: 'Measure-phase requests sent later than the late threshold after their scheduled time.',
      labelNames: labels,
      registers,
    });
    this.promptTokens = new Counter({
      name: 'guidellm_prompt_tokens_total',
      help: 'Prompt tokens of successful measure-phase requests (usage.prompt_tokens).',
      labelNames: labels,
      registers,
    });
    this.outputTokens = new Counter({
      name: 'guidellm_output_tokens_total',
      help: 'Output tokens of successful measure-phase requests (usage.completion_tokens).',
      labelNames: labels,
      registers,
    });
    this.inFlight = new Gauge({
      name: 'guidellm_requests_in_flight',
      help: 'Requests currently in flight (all phases).',
      labelNames: labels,
      registers,
    });
    this.phase = new Gauge({
      name: 'guidellm_run_phase',
      help: 'Current phase of the run (1 for the active phase; idle between continuous runs).',
      labelNames: [...labels, 'phase'],
      registers,
    });
    this.runs = new Counter({
      name: 'guidellm_runs_total',
      help: 'Finished runs by outcome (success|slo_breached|failed|interrupted).',
      labelNames: [...labels, 'outcome'],
      registers,
    });
    this.lastRunEnd = new Gauge({
      name: 'guidellm_last_run_end_timestamp_seconds',
      help: 'Unix time the last run of this target ended.',
      labelNames: labels,
      registers,
    });
    new Gauge({
      name: 'guidellm_runner_info',
      help: 'Runner build information (always 1).',
      labelNames: ['version'],
      registers,
    }).set({ version: options.version }, 1);
    const histogram = (name: string, help: string, buckets: number[]) =>
      new FastHistogram({ name, help, labelNames: labels, buckets, registry });
    this.ttft = histogram(
      'guidellm_ttft_seconds',
      'Time to first token, from the scheduled send time to the first content chunk.',
      latencyBuckets,
    );
    this.itl = histogram(
      'guidellm_itl_seconds',
      'Inter-token latency: every gap between consecutive content chunks.',
      tokenBuckets,
    );
    this.tpot = histogram(
      'guidellm_tpot_seconds',
      'Time per output token: (e2e - ttft) / (output tokens - 1), per request.',
      tokenBuckets,
    );
    this.e2e = histogram(
      'guidellm_request_latency_seconds',
      'End-to-end request latency, from the scheduled send time to the last content chunk.',
      latencyBuckets,
    );
    this.dispatchLag = histogram(
      'guidellm_dispatch_lag_seconds',
      'How late requests were handed to the HTTP client compared with their scheduled time.',
      dispatchLagBuckets,
    );
    if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  }

  /** Binds every series of one target; call once per target and feed it results. */
  forTarget(target: TargetLabels): TargetMetrics {
    const labels: Record<string, string> = {};
    for (const n of this.labelNames) labels[n] = (target as unknown as Record<string, string | undefined>)[n] ?? '';
    return new TargetMetrics(this, labels);
  }

  /** @internal series handles for `TargetMetrics`. */
  bindAll(labels: Record<string, string>) {
    return {
      success: this.requests.labels({ ...labels, status: 'success' }),
      error: this.requests.labels({ ...labels, status: 'error' }),
      errors: (errorClass: string, httpStatus: string) =>
        this.errors.labels({ ...labels, error_class: errorClass, http_status: httpStatus }),
      late: this.late.labels(labels),
      promptTokens: this.promptTokens.labels(labels),
      outputTokens: this.outputTokens.labels(labels),
      inFlight: this.inFlight.labels(labels),
      phase: (p: string) => this.phase.labels({ ...labels, phase: p }),
      runs: (outcome: RunOutcomeLabel) => this.runs.labels({ ...labels, outcome }),
      lastRunEnd: this.lastRunEnd.labels(labels),
      ttft: this.ttft.bind(labels),
      itl: this.itl.bind(labels),
      tpot: this.tpot.bind(labels),
      e2e: this.e2e.bind(labels),
      dispatchLag: this.dispatchLag.bind(labels),
    };
  }

  /** Prometheus text exposition of everything in the registry. */
  async render(): Promise<string> {
    return this.registry.metrics();
  }
}

export class TargetMetrics {
  private readonly s: ReturnType<RunnerMetrics['bindAll']>;
  private readonly ttft: HistogramSeries;
  private readonly itl: HistogramSeries;
  constructor(metrics: RunnerMetrics, labels: Record<string, string>) {
    this.s = metrics.bindAll(labels);
    this.ttft = this.s.ttft;
    this.itl = this.s.itl;
    // Make the series exist (at 0) before the first request so dashboards and rate() see them from the start.
    this.s.success.inc(0);
    this.s.error.inc(0);
    this.s.inFlight.set(0);
    this.setPhase('idle');
  }

  /** Feed one finished request (any phase; only measure-phase requests are counted, see the module doc). */
  observe(r: RequestResult): void {
    if (r.phase !== 'measure') return;
    const s = this.s;
    s.dispatchLag.observe(r.dispatchLagSeconds);
    if (r.late) s.late.inc();
    if (!r.ok) {
      s.error.inc();
      const cls = r.errorClass ?? 'http';
      s.errors(cls, cls === 'http' && r.httpStatus !== undefined ? String(r.httpStatus) : '').inc();
      return;
    }
    s.success.inc();
    // Tokens and latencies of successful requests only, as in the report (failures cannot distort them).
    if (r.promptTokens !== undefined) s.promptTokens.inc(r.promptTokens);
    if (r.outputTokens !== undefined) s.outputTokens.inc(r.outputTokens);
    if (r.ttftSeconds !== undefined) this.ttft.observe(r.ttftSeconds);
    const itl = this.itl;
    for (const gap of r.itlSeconds) itl.observe(gap);
    if (r.tpotSeconds !== undefined) s.tpot.observe(r.tpotSeconds);
    if (r.e2eSeconds !== undefined) s.e2e.observe(r.e2eSeconds);
  }

  setInFlight(n: number): void {
    this.s.inFlight.set(n);
  }

  setPhase(phase: Phase | 'idle'): void {
    for (const p of phases) this.s.phase(p).set(p === phase ? 1 : 0);
  }

  runFinished(outcome: RunOutcomeLabel, endedAtMs: number): void {
    this.s.runs(outcome).inc();
    this.s.lastRunEnd.set(endedAtMs / 1000);
    this.s.inFlight.set(0);
    this.setPhase('idle');
  }
}
