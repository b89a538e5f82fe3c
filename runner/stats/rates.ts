/**
 * Rates and summaries derived from (merged) RunStats. Pure: computed from merged counts and the merged
 * window only, never by combining per-runner rates or percentiles.
 */
import type { HistogramSummary } from './histogram.ts';
import {
  type ErrorCounts,
  LATENCY_METRICS,
  type LatencyMetric,
  type MeasuredWindow,
  type RequestTotals,
  type RunStats,
  TOKEN_METRICS,
  type TokenMetric,
} from './run-stats.ts';

/**
 * Per-second figures over the measured window. Every rate is NaN when the window is unknown or has zero
 * length; ratios are NaN when no request completed (consumers check Number.isFinite before displaying).
 */
export interface RunRates {
  windowSeconds: number;
  /** Successful requests/s (vLLM's request throughput; failures do not inflate it). */
  requestsPerSecond: number;
  /** Successful + failed requests/s. */
  completedRequestsPerSecond: number;
  /** Output tokens of successful requests per second. */
  outputTokensPerSecond: number;
  /** Prompt + output tokens of successful requests per second. */
  totalTokensPerSecond: number;
  /** Good requests/s (DistServe goodput); NaN without goodput limits. */
  goodputPerSecond: number;
  /** failed / completed, in [0, 1]. */
  errorRatio: number;
  /** good / completed, in [0, 1]; NaN without goodput limits. */
  goodputRatio: number;
}

export interface RateInputs {
  windowSeconds: number;
  requests: RequestTotals;
  promptTokens: number;
  outputTokens: number;
  /** Good requests, or undefined when no goodput limits were set. */
  good: number | undefined;
}

export function computeRates(input: RateInputs): RunRates {
  const { windowSeconds: seconds, requests, promptTokens, outputTokens, good } = input;
  const perSecond = (n: number) => (seconds > 0 ? n / seconds : Number.NaN);
  const ofCompleted = (n: number) => (requests.completed > 0 ? n / requests.completed : Number.NaN);
  return {
    windowSeconds: seconds,
    requestsPerSecond: perSecond(requests.ok),
    completedRequestsPerSecond: perSecond(requests.completed),
    outputTokensPerSecond: perSecond(outputTokens),
    totalTokensPerSecond: perSecond(promptTokens + outputTokens),
    goodputPerSecond: good === undefined ? Number.NaN : perSecond(good),
    errorRatio: ofCompleted(requests.failed),
    goodputRatio: good === undefined ? Number.NaN : ofCompleted(good),
  };
}

export function runRates(stats: RunStats): RunRates {
  return computeRates({
    windowSeconds: stats.windowSeconds,
    requests: stats.requests,
    promptTokens: stats.promptTokens,
    outputTokens: stats.outputTokens,
    good: stats.goodputLimits === undefined ? undefined : stats.good,
  });
}

/** Everything a report or status needs, from one (merged) RunStats. Latencies in seconds. */
export interface RunSummary {
  window: MeasuredWindow | null;
  requests: RequestTotals;
  excluded: { warmup: number; cooldown: number };
  errors: ErrorCounts;
  httpStatus: Record<string, number>;
  tokens: { prompt: number; output: number; outputEstimatedRequests: number };
  /** null without goodput limits. */
  goodput: { good: number } | null;
  rates: RunRates;
  latency: Record<LatencyMetric, HistogramSummary>;
  /** Per-request prompt and output token counts (quantiles are bucket midpoints: round them for display). */
  tokenDistribution: Record<TokenMetric, HistogramSummary>;
  rejectedSamples: RunStats['rejectedSamples'];
}

export function summarizeRun(stats: RunStats): RunSummary {
  const latency = {} as Record<LatencyMetric, HistogramSummary>;
  for (const metric of LATENCY_METRICS) latency[metric] = stats.histograms[metric].summary();
  const tokenDistribution = {} as Record<TokenMetric, HistogramSummary>;
  for (const metric of TOKEN_METRICS) tokenDistribution[metric] = stats.histograms[metric].summary();
  return {
    window: stats.window,
    requests: { ...stats.requests },
    excluded: { ...stats.excluded },
    errors: { ...stats.errors },
    httpStatus: stats.httpStatus,
    tokens: {
      prompt: stats.promptTokens,
      output: stats.outputTokens,
      outputEstimatedRequests: stats.outputTokensEstimated,
    },
    goodput: stats.goodputLimits === undefined ? null : { good: stats.good },
    rates: runRates(stats),
    latency,
    tokenDistribution,
    rejectedSamples: { ...stats.rejectedSamples },
  };
}
