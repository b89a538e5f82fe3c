/** The runner's statistics core: mergeable histograms and run aggregates (see README.md). */
export {
  type BucketScheme,
  bucketIndex,
  bucketLowerBound,
  bucketRepresentative,
  bucketUpperBound,
  DEFAULT_SUB_BUCKET_BITS,
  MAX_RECORDABLE,
  relativeErrorBound,
  SCHEME_KIND,
} from './buckets.ts';
export { MergeError, SnapshotError } from './errors.ts';
export {
  type Bucket,
  Histogram,
  type HistogramOptions,
  type HistogramSummary,
  nearestRank,
  SUMMARY_QUANTILES,
} from './histogram.ts';
export {
  HISTOGRAM_SNAPSHOT_VERSION,
  type HistogramSnapshot,
  HistogramSnapshotSchema,
  parseHistogramSnapshot,
} from './histogram-snapshot.ts';
export {
  computeRates,
  type RateInputs,
  type RunRates,
  type RunSummary,
  runRates,
  summarizeRun,
} from './rates.ts';
export {
  type ErrorCounts,
  emptyErrorCounts,
  type GoodputLimits,
  goodputLimitsFromMilliseconds,
  LATENCY_METRICS,
  type LatencyMetric,
  METRICS,
  type MeasuredWindow,
  type MetricName,
  type RequestTotals,
  RUN_STATS_SNAPSHOT_VERSION,
  RunStats,
  type RunStatsOptions,
  type RunStatsSnapshot,
  RunStatsSnapshotSchema,
  TOKEN_METRICS,
  type TokenMetric,
} from './run-stats.ts';
