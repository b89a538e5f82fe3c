/**
 * RunStats: everything one runner measured over its measured window, in a form that merges exactly.
 * The runner feeds it finished requests; the operator merges the runners' snapshots; both derive the same
 * rates and summaries from the merged counts (rates.ts), never from per-runner results.
 *
 * What counts (vLLM `bench serve` conventions, see README.md):
 * - only results in the `measure` phase; warmup and cooldown results are only counted in `excluded`;
 * - latency and token histograms take successful requests only, so failures cannot distort TTFT or
 *   throughput (GL#444); dispatch lag is recorded for every measured request, failed or not;
 * - a value a histogram cannot take (NaN, negative, infinite) is counted in `rejectedSamples` per metric
 *   instead of being recorded or crashing the run.
 */
import { z } from 'zod';
import type { ErrorClass, RequestResult } from '../engine/types.ts';
import { MAX_RECORDABLE } from './buckets.ts';
import { integerAtLeast, MergeError, SnapshotError, zodIssues } from './errors.ts';
import { Histogram } from './histogram.ts';
import type { HistogramSnapshot } from './histogram-snapshot.ts';

export const RUN_STATS_SNAPSHOT_VERSION = 1;

/** Latency histograms, in seconds. */
export const LATENCY_METRICS = ['ttft', 'itl', 'tpot', 'e2e', 'dispatchLag'] as const;
/** Per-request token count histograms (their sums are the token totals). */
export const TOKEN_METRICS = ['promptTokens', 'outputTokens'] as const;
export const METRICS = [...LATENCY_METRICS, ...TOKEN_METRICS] as const;
export type LatencyMetric = (typeof LATENCY_METRICS)[number];
export type TokenMetric = (typeof TOKEN_METRICS)[number];
export type MetricName = (typeof METRICS)[number];

/** The engine's error classes, plus `unclassified` for a failure that came without one (a bug upstream). */
export type ErrorCounts = Record<ErrorClass | 'unclassified', number>;

export function emptyErrorCounts(): ErrorCounts {
  return { connect: 0, timeout: 0, http: 0, broken_stream: 0, bad_payload: 0, cancelled: 0, unclassified: 0 };
}
const ERROR_KEYS = Object.keys(emptyErrorCounts()) as (keyof ErrorCounts)[];

/**
 * DistServe goodput: a request is good when it succeeded and met every limit given. A missing TTFT (a
 * non-streaming request) is judged by its E2E, as vLLM does; a missing TPOT (fewer than 2 output tokens)
 * meets the limit (vLLM takes TPOT = 0); a missing E2E fails the limit.
 */
export interface GoodputLimits {
  ttftSeconds?: number;
  tpotSeconds?: number;
  e2eSeconds?: number;
}

/** From the LoadTest's `spec.slo.goodput` (milliseconds). */
export function goodputLimitsFromMilliseconds(limits: {
  ttftMilliseconds?: number | undefined;
  tpotMilliseconds?: number | undefined;
  e2eMilliseconds?: number | undefined;
}): GoodputLimits {
  const out: GoodputLimits = {};
  if (limits.ttftMilliseconds !== undefined) out.ttftSeconds = limits.ttftMilliseconds / 1000;
  if (limits.tpotMilliseconds !== undefined) out.tpotSeconds = limits.tpotMilliseconds / 1000;
  if (limits.e2eMilliseconds !== undefined) out.e2eSeconds = limits.e2eMilliseconds / 1000;
  return out;
}

/** Measured window in epoch milliseconds. Merged windows span min(start) to max(end). */
export interface MeasuredWindow {
  startMs: number;
  endMs: number;
}

export interface RunStatsOptions {
  /** Count goodput against these limits (omit when the LoadTest sets no goodput SLO). */
  goodput?: GoodputLimits;
  /** Histogram precision; all runners of one test must agree (the default does). */
  subBucketBits?: number;
}

export interface RequestTotals {
  /** Measured requests that finished: ok + failed. */
  completed: number;
  ok: number;
  failed: number;
  /** Sent later than the engine's late threshold (the runner could not keep the schedule). */
  late: number;
}

export interface RunStatsSnapshot {
  v: 1;
  window: MeasuredWindow | null;
  requests: RequestTotals;
  /** Results outside the measured window, not otherwise counted. */
  excluded: { warmup: number; cooldown: number };
  /** Failed requests by class; they add up to requests.failed. */
  errors: ErrorCounts;
  /** Measured requests per HTTP status received (successes and HTTP errors alike). */
  httpStatus: Record<string, number>;
  /** Successful requests whose output token count was estimated from chunks (server sent no usage). */
  outputTokensEstimated: number;
  goodput: { limits: GoodputLimits; good: number } | null;
  rejectedSamples: Record<MetricName, number>;
  histograms: Record<MetricName, HistogramSnapshot>;
}

function recordable(value: number): boolean {
  return value >= 0 && value <= MAX_RECORDABLE;
}

function sameLimits(a: GoodputLimits | undefined, b: GoodputLimits | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.ttftSeconds === b.ttftSeconds && a.tpotSeconds === b.tpotSeconds && a.e2eSeconds === b.e2eSeconds;
}

function describeLimits(limits: GoodputLimits | undefined): string {
  return limits === undefined ? 'none' : JSON.stringify(limits);
}

function zeroPerMetric(): Record<MetricName, number> {
  return { ttft: 0, itl: 0, tpot: 0, e2e: 0, dispatchLag: 0, promptTokens: 0, outputTokens: 0 };
}

export class RunStats {
  readonly requests: RequestTotals = { completed: 0, ok: 0, failed: 0, late: 0 };
  readonly excluded = { warmup: 0, cooldown: 0 };
  readonly errors: ErrorCounts = emptyErrorCounts();
  readonly histograms: Readonly<Record<MetricName, Histogram>>;
  readonly rejectedSamples: Record<MetricName, number> = zeroPerMetric();
  readonly goodputLimits: GoodputLimits | undefined;
  private readonly statusCounts = new Map<number, number>();
  private goodCount = 0;
  private estimatedOutput = 0;
  private windowStartMs = Number.POSITIVE_INFINITY;
  private windowEndMs = Number.NEGATIVE_INFINITY;

  constructor(options: RunStatsOptions = {}) {
    const h = () => new Histogram({ subBucketBits: options.subBucketBits });
    this.histograms = {
      ttft: h(),
      itl: h(),
      tpot: h(),
      e2e: h(),
      dispatchLag: h(),
      promptTokens: h(),
      outputTokens: h(),
    };
    if (options.goodput !== undefined) this.goodputLimits = checkLimits(options.goodput);
  }

  /** Rebuilds run stats from an untrusted snapshot; throws SnapshotError naming every bad field (under `where`). */
  static fromJSON(input: unknown, where = 'run stats'): RunStats {
    const { snapshot: s, histograms, goodput } = parseRunStatsSnapshot(input, where);
    const options: RunStatsOptions = { subBucketBits: histograms.ttft.subBucketBits };
    if (goodput !== undefined) options.goodput = goodput;
    const stats = new RunStats(options);
    Object.assign(stats.requests, s.requests);
    Object.assign(stats.excluded, s.excluded);
    Object.assign(stats.errors, s.errors);
    Object.assign(stats.rejectedSamples, s.rejectedSamples);
    for (const metric of METRICS) stats.histograms[metric].merge(histograms[metric]);
    for (const [status, n] of Object.entries(s.httpStatus)) stats.statusCounts.set(Number(status), n);
    stats.goodCount = s.goodput?.good ?? 0;
    stats.estimatedOutput = s.outputTokensEstimated;
    if (s.window !== null) stats.observeWindow(s.window.startMs, s.window.endMs);
    return stats;
  }

  /** Adds one finished request (called once per result; cheap, allocation-free for known HTTP statuses). */
  addResult(r: RequestResult): void {
    if (r.phase !== 'measure') {
      this.excluded[r.phase] += 1;
      return;
    }
    this.requests.completed += 1;
    if (r.late) this.requests.late += 1;
    if (r.httpStatus !== undefined) this.statusCounts.set(r.httpStatus, (this.statusCounts.get(r.httpStatus) ?? 0) + 1);
    this.sample('dispatchLag', r.dispatchLagSeconds);
    if (!r.ok) {
      this.requests.failed += 1;
      this.errors[r.errorClass ?? 'unclassified'] += 1;
      return;
    }
    this.requests.ok += 1;
    if (r.ttftSeconds !== undefined) this.sample('ttft', r.ttftSeconds);
    if (r.tpotSeconds !== undefined) this.sample('tpot', r.tpotSeconds);
    if (r.e2eSeconds !== undefined) this.sample('e2e', r.e2eSeconds);
    const itl = this.histograms.itl;
    const gaps = r.itlSeconds;
    // An indexed loop: for-of over the array allocated an iterator result per gap in V8 (measured).
    for (let i = 0; i < gaps.length; i++) {
      const gap = gaps[i] as number;
      if (recordable(gap)) itl.record(gap);
      else this.rejectedSamples.itl += 1;
    }
    if (r.promptTokens !== undefined) this.sample('promptTokens', r.promptTokens);
    if (r.outputTokens !== undefined) this.sample('outputTokens', r.outputTokens);
    if (r.outputTokensEstimated) this.estimatedOutput += 1;
    if (this.goodputLimits !== undefined && isGood(r, this.goodputLimits)) this.goodCount += 1;
  }

  /** Widens the measured window to include [startMs, endMs] (epoch ms; call at the end of each measure phase). */
  observeWindow(startMs: number, endMs: number): void {
    if (!Number.isFinite(startMs) || !Number.isFinite(endMs) || endMs < startMs) {
      throw new RangeError(`measured window must have finite startMs ≤ endMs, got ${startMs} .. ${endMs}`);
    }
    if (startMs < this.windowStartMs) this.windowStartMs = startMs;
    if (endMs > this.windowEndMs) this.windowEndMs = endMs;
  }

  get window(): MeasuredWindow | null {
    return this.windowStartMs <= this.windowEndMs ? { startMs: this.windowStartMs, endMs: this.windowEndMs } : null;
  }

  /** Length of the measured window in seconds; NaN before observeWindow. */
  get windowSeconds(): number {
    return this.windowStartMs <= this.windowEndMs ? (this.windowEndMs - this.windowStartMs) / 1000 : Number.NaN;
  }

  /** Good requests (goodput count); 0 when no limits were given. */
  get good(): number {
    return this.goodCount;
  }

  get outputTokensEstimated(): number {
    return this.estimatedOutput;
  }

  /** Sum of usage.prompt_tokens over successful measured requests. */
  get promptTokens(): number {
    return this.histograms.promptTokens.sum;
  }

  /** Sum of usage.completion_tokens (or chunk counts, see outputTokensEstimated) over successful requests. */
  get outputTokens(): number {
    return this.histograms.outputTokens.sum;
  }

  /** Requests per HTTP status, keys in ascending order. */
  get httpStatus(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const status of [...this.statusCounts.keys()].sort((a, b) => a - b)) {
      out[String(status)] = this.statusCounts.get(status) as number;
    }
    return out;
  }

  /**
   * Adds `other` into this. Refuses (MergeError, nothing changed) parts measured differently: other goodput
   * limits or another histogram precision.
   */
  merge(other: RunStats): this {
    if (!sameLimits(this.goodputLimits, other.goodputLimits)) {
      throw new MergeError(
        `cannot merge run stats with different goodput limits: ${describeLimits(this.goodputLimits)} and ` +
          `${describeLimits(other.goodputLimits)}`,
      );
    }
    const bits = this.histograms.ttft.subBucketBits;
    for (const metric of METRICS) {
      if (other.histograms[metric].subBucketBits !== bits || this.histograms[metric].subBucketBits !== bits) {
        throw new MergeError(
          `cannot merge run stats with different histogram schemes: subBucketBits ${bits} and ` +
            `${other.histograms[metric].subBucketBits} (${metric})`,
        );
      }
    }
    for (const key of ['completed', 'ok', 'failed', 'late'] as const) this.requests[key] += other.requests[key];
    this.excluded.warmup += other.excluded.warmup;
    this.excluded.cooldown += other.excluded.cooldown;
    for (const key of ERROR_KEYS) this.errors[key] += other.errors[key];
    for (const [status, n] of other.statusCounts)
      this.statusCounts.set(status, (this.statusCounts.get(status) ?? 0) + n);
    for (const metric of METRICS) {
      this.histograms[metric].merge(other.histograms[metric]);
      this.rejectedSamples[metric] += other.rejectedSamples[metric];
    }
    this.goodCount += other.goodCount;
    this.estimatedOutput += other.estimatedOutput;
    if (other.windowStartMs < this.windowStartMs) this.windowStartMs = other.windowStartMs;
    if (other.windowEndMs > this.windowEndMs) this.windowEndMs = other.windowEndMs;
    return this;
  }

  /** A RunStats merging all parts (all must agree on goodput limits and histogram scheme). */
  static merged(parts: Iterable<RunStats>, options: RunStatsOptions = {}): RunStats {
    let result: RunStats | undefined;
    for (const part of parts) {
      result ??= part.emptyLike();
      result.merge(part);
    }
    return result ?? new RunStats(options);
  }

  toJSON(): RunStatsSnapshot {
    const histograms = {} as Record<MetricName, HistogramSnapshot>;
    for (const metric of METRICS) histograms[metric] = this.histograms[metric].toJSON();
    return {
      v: 1,
      window: this.window,
      requests: { ...this.requests },
      excluded: { ...this.excluded },
      errors: { ...this.errors },
      httpStatus: this.httpStatus,
      outputTokensEstimated: this.estimatedOutput,
      goodput: this.goodputLimits === undefined ? null : { limits: { ...this.goodputLimits }, good: this.goodCount },
      rejectedSamples: { ...this.rejectedSamples },
      histograms,
    };
  }

  private emptyLike(): RunStats {
    const options: RunStatsOptions = { subBucketBits: this.histograms.ttft.subBucketBits };
    if (this.goodputLimits !== undefined) options.goodput = this.goodputLimits;
    return new RunStats(options);
  }

  private sample(metric: MetricName, value: number): void {
    if (recordable(value)) this.histograms[metric].record(value);
    else this.rejectedSamples[metric] += 1;
  }
}

function isGood(r: RequestResult, limits: GoodputLimits): boolean {
  if (limits.ttftSeconds !== undefined) {
    const ttft = r.ttftSeconds ?? r.e2eSeconds;
    if (ttft === undefined || !(ttft <= limits.ttftSeconds)) return false;
  }
  if (limits.tpotSeconds !== undefined && r.tpotSeconds !== undefined && !(r.tpotSeconds <= limits.tpotSeconds)) {
    return false;
  }
  if (limits.e2eSeconds !== undefined && (r.e2eSeconds === undefined || !(r.e2eSeconds <= limits.e2eSeconds))) {
    return false;
  }
  return true;
}

function checkLimits(limits: GoodputLimits): GoodputLimits {
  const out: GoodputLimits = {};
  for (const key of ['ttftSeconds', 'tpotSeconds', 'e2eSeconds'] as const) {
    const value = limits[key];
    if (value === undefined) continue;
    if (!(Number.isFinite(value) && value > 0))
      throw new RangeError(`goodput.${key} must be a number > 0, got ${value}`);
    out[key] = value;
  }
  if (Object.keys(out).length === 0) {
    throw new RangeError('goodput limits need at least one of ttftSeconds, tpotSeconds or e2eSeconds');
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ snapshot

const count = integerAtLeast(0, 'must be an integer ≥ 0');
const limit = z.number().positive({ error: 'must be a number > 0' }).optional();
const perMetric = <T extends z.ZodType>(schema: T) =>
  z.strictObject(Object.fromEntries(METRICS.map((m) => [m, schema])) as Record<MetricName, T>);

export const RunStatsSnapshotSchema = z.strictObject({
  v: z.literal(RUN_STATS_SNAPSHOT_VERSION),
  window: z
    .strictObject({ startMs: z.number(), endMs: z.number() })
    .refine((w) => w.startMs <= w.endMs, { error: 'startMs must not be after endMs' })
    .nullable(),
  requests: z.strictObject({ completed: count, ok: count, failed: count, late: count }),
  excluded: z.strictObject({ warmup: count, cooldown: count }),
  errors: z.strictObject(
    Object.fromEntries(ERROR_KEYS.map((k) => [k, count])) as Record<keyof ErrorCounts, typeof count>,
  ),
  httpStatus: z.record(z.string().regex(/^[1-5][0-9][0-9]$/, { error: 'must be an HTTP status code' }), count),
  outputTokensEstimated: count,
  goodput: z
    .strictObject({
      limits: z.strictObject({ ttftSeconds: limit, tpotSeconds: limit, e2eSeconds: limit }),
      good: count,
    })
    .nullable(),
  rejectedSamples: perMetric(count),
  histograms: perMetric(z.unknown()),
});

type ParsedSnapshot = z.infer<typeof RunStatsSnapshotSchema>;

function parseRunStatsSnapshot(
  input: unknown,
  where: string,
): { snapshot: ParsedSnapshot; histograms: Record<MetricName, Histogram>; goodput: GoodputLimits | undefined } {
  const fail = (issues: string[]) => new SnapshotError(`${where} snapshot`, issues);
  if (input !== null && typeof input === 'object' && 'v' in input && input.v !== RUN_STATS_SNAPSHOT_VERSION) {
    const seen = JSON.stringify(input.v);
    throw fail([
      `${where}.v: unsupported snapshot version ${seen} (this build reads version ${RUN_STATS_SNAPSHOT_VERSION})`,
    ]);
  }
  const parsed = RunStatsSnapshotSchema.safeParse(input);
  if (!parsed.success) throw fail(zodIssues(parsed.error, where));
  const s = parsed.data;
  const histograms = {} as Record<MetricName, Histogram>;
  const issues: string[] = [];
  for (const metric of METRICS) {
    try {
      histograms[metric] = Histogram.fromJSON(s.histograms[metric], `${where}.histograms.${metric}`);
    } catch (err) {
      if (!(err instanceof SnapshotError)) throw err;
      issues.push(...err.issues);
    }
  }
  if (issues.length > 0) throw fail(issues);
  const bits = histograms.ttft.subBucketBits;
  for (const metric of METRICS) {
    const other = histograms[metric].subBucketBits;
    if (other !== bits)
      issues.push(`${where}.histograms.${metric}.scheme.subBucketBits: is ${other} but ttft's is ${bits}`);
  }
  issues.push(...countIssues(s, histograms, where));
  let goodput: GoodputLimits | undefined;
  if (s.goodput !== null) {
    goodput = {};
    for (const key of ['ttftSeconds', 'tpotSeconds', 'e2eSeconds'] as const) {
      const value = s.goodput.limits[key];
      if (value !== undefined) goodput[key] = value;
    }
    if (Object.keys(goodput).length === 0) issues.push(`${where}.goodput.limits: needs at least one limit`);
  }
  if (issues.length > 0) throw fail(issues);
  return { snapshot: s, histograms, goodput };
}

/** Cross-field invariants that addResult maintains; a snapshot breaking one was not produced by it. */
function countIssues(s: ParsedSnapshot, histograms: Record<MetricName, Histogram>, where: string): string[] {
  const issues: string[] = [];
  const { completed, ok, failed, late } = s.requests;
  if (ok + failed !== completed) {
    issues.push(`${where}.requests.completed: is ${completed} but ok (${ok}) + failed (${failed}) = ${ok + failed}`);
  }
  if (late > completed) issues.push(`${where}.requests.late: ${late} exceeds requests.completed (${completed})`);
  const errorSum = ERROR_KEYS.reduce((acc, k) => acc + s.errors[k], 0);
  if (errorSum !== failed) issues.push(`${where}.errors: add up to ${errorSum} but requests.failed is ${failed}`);
  const statusSum = Object.values(s.httpStatus).reduce((acc, n) => acc + n, 0);
  if (statusSum > completed) {
    issues.push(`${where}.httpStatus: add up to ${statusSum}, more than requests.completed (${completed})`);
  }
  if (s.outputTokensEstimated > ok) {
    issues.push(`${where}.outputTokensEstimated: ${s.outputTokensEstimated} exceeds requests.ok (${ok})`);
  }
  if (s.goodput !== null && s.goodput.good > ok) {
    issues.push(`${where}.goodput.good: ${s.goodput.good} exceeds requests.ok (${ok})`);
  }
  const lagSamples = histograms.dispatchLag.count + s.rejectedSamples.dispatchLag;
  if (lagSamples !== completed) {
    issues.push(
      `${where}.histograms.dispatchLag.count: with rejected samples is ${lagSamples} but requests.completed is ${completed}`,
    );
  }
  for (const metric of ['ttft', 'tpot', 'e2e', 'promptTokens', 'outputTokens'] as const) {
    const n = histograms[metric].count + s.rejectedSamples[metric];
    if (n > ok)
      issues.push(`${where}.histograms.${metric}.count: with rejected samples is ${n}, more than requests.ok (${ok})`);
  }
  return issues;
}
