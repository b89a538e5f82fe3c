/**
 * What one column of a comparison holds, whatever it came from: a runner report (`loadlm run --report`), the
 * operator's report (the `<lt>-report` ConfigMap, or its `report.json` saved alone), or, when no report is
 * left, a LoadTest's `status.summary`. Figures come from the raw histograms and counts whenever there are
 * some (RunStats.fromJSON validates them), never from display strings; only the status fallback reads the
 * status's exact integers.
 */
import type { GoodputLimits, Histogram, RunStats } from '../stats/index.ts';
import { summarizeRun } from '../stats/index.ts';

export const latencyKeys = ['ttft', 'tpot', 'itl', 'e2e'] as const;
export type LatencyKey = (typeof latencyKeys)[number];

/** Seconds; NaN when not measured. */
export interface LatencyPercentiles {
  samples: number;
  p50: number;
  p95: number;
  p99: number;
}

/** The figures compared. Rates are per second over the measured window; NaN when unknown. */
export interface InputMetrics {
  latency: Record<LatencyKey, LatencyPercentiles>;
  requests: { completed: number; ok: number; failed: number };
  windowSeconds: number;
  requestsPerSecond: number;
  outputTokensPerSecond: number;
  /** failed / completed. */
  errorRatio: number;
  /** null when the run had no goodput limits. */
  goodput: { good: number; perSecond: number; ratio: number } | null;
}

/** One step of a sweep (or of stages), for throughput-vs-latency plots. */
export interface SweepPoint {
  step: number;
  label: string;
  targetRate?: number;
  metrics: InputMetrics;
}

/** The environment labels of the design documents, plus what else names a run. */
export interface InputLabels {
  environment?: string;
  provider?: string;
  cluster?: string;
  region?: string;
  loadtest?: string;
  /** Set when a report's targets are compared one by one (--per-target). */
  target?: string;
}

export type InputKind = 'runner-report' | 'operator-report' | 'loadtest-status';

export interface CompareInput {
  /** The column title (unique within a comparison). */
  name: string;
  /** Where it came from, in full: `reports/aws.json`, `context prod-aws: LoadTest bench/nightly`. */
  source: string;
  /** A short form of the source for titles: the file's base name, or the context. */
  sourceShort: string;
  kind: InputKind;
  labels: InputLabels;
  /** The run's outcome as the source states it (`success`, `slo_breached`, `Succeeded`, ...). */
  outcome?: string;
  metrics: InputMetrics;
  /** Merged latency histograms (seconds); empty for the status fallback. */
  distributions: Partial<Record<LatencyKey, Histogram>>;
  /** Sweep or stage steps, in run order; empty when the run had one step. */
  steps: SweepPoint[];
  goodputLimits?: GoodputLimits;
  warnings: string[];
}

export function metricsFromStats(stats: RunStats): InputMetrics {
  const s = summarizeRun(stats);
  const latency = {} as Record<LatencyKey, LatencyPercentiles>;
  for (const key of latencyKeys) {
    const h = s.latency[key];
    latency[key] = { samples: h.count, p50: h.p50, p95: h.p95, p99: h.p99 };
  }
  return {
    latency,
    requests: { completed: s.requests.completed, ok: s.requests.ok, failed: s.requests.failed },
    windowSeconds: s.rates.windowSeconds,
    requestsPerSecond: s.rates.requestsPerSecond,
    outputTokensPerSecond: s.rates.outputTokensPerSecond,
    errorRatio: s.rates.errorRatio,
    goodput: s.goodput
      ? { good: s.goodput.good, perSecond: s.rates.goodputPerSecond, ratio: s.rates.goodputRatio }
      : null,
  };
}

export function distributionsOf(stats: RunStats): Partial<Record<LatencyKey, Histogram>> {
  const out: Partial<Record<LatencyKey, Histogram>> = {};
  for (const key of latencyKeys) out[key] = stats.histograms[key];
  return out;
}

/** Label values that name a place: provider, cluster, region, and the environment unless it is the default. */
export function placeParts(labels: InputLabels): string[] {
  const parts = [labels.provider, labels.cluster, labels.region].filter((v): v is string => !!v);
  if (labels.environment && labels.environment !== 'default') parts.push(labels.environment);
  return parts;
}

/** `aws-eks/prod-1/us-east-1/production`, else the LoadTest name, else the source; plus the target if split. */
export function defaultName(labels: InputLabels, sourceShort: string): string {
  const parts = placeParts(labels);
  const base = parts.length > 0 ? parts.join('/') : (labels.loadtest ?? sourceShort);
  return labels.target ? `${base} · ${labels.target}` : base;
}

/**
 * Makes column titles unique: clashing titles get what tells them apart (the LoadTest name, else the
 * source) added, and a clash that remains a number.
 */
export function uniqueNames(inputs: CompareInput[]): void {
  const groups = new Map<string, CompareInput[]>();
  for (const input of inputs) groups.set(input.name, [...(groups.get(input.name) ?? []), input]);
  for (const [name, group] of groups) {
    if (group.length < 2) continue;
    const distinct = (pick: (i: CompareInput) => string | undefined) =>
      group.every((i) => pick(i)) && new Set(group.map(pick)).size === group.length;
    const pick = distinct((i) => i.labels.loadtest)
      ? (i: CompareInput) => i.labels.loadtest as string
      : (i: CompareInput) => i.sourceShort;
    for (const input of group) if (!name.includes(pick(input))) input.name = `${name} (${pick(input)})`;
  }
  const seen = new Map<string, number>();
  for (const input of inputs) {
    const n = (seen.get(input.name) ?? 0) + 1;
    seen.set(input.name, n);
    if (n > 1) input.name = `${input.name} #${n}`;
  }
}
