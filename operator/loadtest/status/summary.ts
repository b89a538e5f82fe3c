/**
 * Merged RunStats → `status.summary` (ResultSummary): display strings for `kubectl get` next to exact integers,
 * all derived from the merged histograms and counts (rates over the merged measured window).
 */
import { formatDecimal, formatMicroseconds, formatPercent } from '../../../api/format.ts';
import type { LatencyStatKey, LatencyStats, ResultSummary } from '../../../api/loadtest.ts';
import type { HistogramSummary, RunStats } from '../../../runner/stats/index.ts';
import { summarizeRun } from '../../../runner/stats/index.ts';

const latencyKeys: readonly LatencyStatKey[] = ['mean', 'min', 'max', 'p50', 'p90', 'p95', 'p99', 'p999'];

/** Seconds → the API's latency statistics (nothing but `samples` when nothing was measured). */
export function latencyStats(summary: HistogramSummary): LatencyStats {
  const out: LatencyStats = { samples: summary.count };
  if (summary.count === 0) return out;
  const microseconds: Partial<Record<LatencyStatKey, number>> = {};
  for (const key of latencyKeys) {
    const value = summary[key];
    if (!Number.isFinite(value)) continue;
    const micros = Math.round(value * 1_000_000);
    microseconds[key] = micros;
    out[key] = formatMicroseconds(micros);
  }
  out.microseconds = microseconds;
  return out;
}

export function summarize(stats: RunStats): ResultSummary {
  const s = summarizeRun(stats);
  const rates = s.rates;
  const decimal = (value: number) => (Number.isFinite(value) ? formatDecimal(value) : undefined);
  const throughput = withoutUndefined({
    requestsPerSecond: decimal(rates.requestsPerSecond),
    outputTokensPerSecond: decimal(rates.outputTokensPerSecond),
    totalTokensPerSecond: decimal(rates.totalTokensPerSecond),
  });
  const byClass = Object.fromEntries(Object.entries(s.errors).filter(([, n]) => n > 0));
  const summary: ResultSummary = {
    requests: {
      total: s.requests.completed,
      succeeded: s.requests.ok,
      failed: s.requests.failed,
      late: s.requests.late,
    },
    ttft: latencyStats(s.latency.ttft),
    itl: latencyStats(s.latency.itl),
    tpot: latencyStats(s.latency.tpot),
    e2e: latencyStats(s.latency.e2e),
    tokens: { prompt: Math.round(s.tokens.prompt), output: Math.round(s.tokens.output) },
    errors: {
      total: s.requests.failed,
      ...(Number.isFinite(rates.errorRatio) ? { ratePercent: formatPercent(rates.errorRatio) } : {}),
      ...(Object.keys(byClass).length > 0 ? { byClass } : {}),
      ...(Object.keys(s.httpStatus).length > 0 ? { byStatus: { ...s.httpStatus } } : {}),
    },
  };
  if (Number.isFinite(rates.windowSeconds)) summary.measuredSeconds = Math.round(rates.windowSeconds);
  if (Object.keys(throughput).length > 0) summary.throughput = throughput;
  if (s.goodput) {
    summary.goodput = {
      requests: s.goodput.good,
      ...(Number.isFinite(rates.goodputPerSecond) ? { requestsPerSecond: formatDecimal(rates.goodputPerSecond) } : {}),
      ...(Number.isFinite(rates.goodputRatio) ? { percent: formatPercent(rates.goodputRatio) } : {}),
    };
  }
  return summary;
}

function withoutUndefined<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
