/**
 * Micro-benchmark of the stats core: ns per Histogram.record() (the runner's hot path: every inter-token
 * gap), whether recording allocates (garbage collections during the timed loops), and the wire size of
 * snapshots. Run: node_modules/.bin/node bench/stats.ts
 */
import { PerformanceObserver } from 'node:perf_hooks';
import type { RequestResult } from '../runner/engine/types.ts';
import { Histogram } from '../runner/stats/histogram.ts';
import { RunStats } from '../runner/stats/run-stats.ts';

const N = 1_000_000;
const PASSES = 7;

/** mulberry32 + Box–Muller: seeded lognormal latencies (median 80 ms, σ = 0.9), generated before timing. */
function lognormalLatencies(n: number, seed: number): Float64Array {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    out[i] = Math.exp(Math.log(0.08) + 0.9 * z);
  }
  return out;
}

let gcCount = 0;
const observer = new PerformanceObserver((list) => {
  gcCount += list.getEntries().length;
});
observer.observe({ entryTypes: ['gc'] });

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const values = lognormalLatencies(N, 12345);
/** The runner records from plain arrays (RequestResult.itlSeconds), so time that shape. */
const valueArray = Array.from(values);

function recordAll(h: Histogram, xs: readonly number[]): void {
  for (let i = 0; i < xs.length; i++) h.record(xs[i] as number);
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20)); // lets the GC observer report

// --- record(): one histogram reused across passes, so its pages exist after warm-up (the steady state).
const h = new Histogram();
for (let pass = 0; pass < 5; pass++) recordAll(h, valueArray); // warm-up: optimized code, pages allocated
await settle();
const gcBefore = gcCount;
const perRecord: number[] = [];
for (let pass = 0; pass < PASSES; pass++) {
  const start = process.hrtime.bigint();
  recordAll(h, valueArray);
  perRecord.push(Number(process.hrtime.bigint() - start) / N);
}
await settle();
const gcDuringRecord = gcCount - gcBefore;

// --- snapshot size and speed of the wire path for 1e6 samples.
const single = new Histogram();
recordAll(single, valueArray);
const json = JSON.stringify(single);

/** Median µs of `fn` over `runs` calls, after one untimed call (first calls also compile, e.g. the zod schema). */
function microseconds(runs: number, fn: () => unknown): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  return median(times);
}
const restored = Histogram.fromJSON(JSON.parse(json));
const fromJsonUs = microseconds(20, () => Histogram.fromJSON(JSON.parse(json)));
const merged = new Histogram();
const mergeUs = microseconds(100, () => merged.merge(restored));
const summaryUs = microseconds(100, () => single.summary());
const summary = single.summary();

// --- a runner's whole aggregate: 10,000 requests × 128 output tokens (127 ITL gaps each).
const stats = new RunStats({ goodput: { ttftSeconds: 0.5, tpotSeconds: 0.05 } });
const requests = 10_000;
const gaps = 127;
const results: RequestResult[] = [];
for (let r = 0; r < requests; r++) {
  const itlSeconds = Array.from({ length: gaps }, (_, g) => 0.01 + (values[(r * gaps + g) % N] as number) * 0.05);
  const ttftSeconds = values[r] as number;
  const e2eSeconds = ttftSeconds + itlSeconds.reduce((a, b) => a + b, 0);
  results.push({
    index: r,
    stage: 0,
    step: 0,
    phase: 'measure',
    scheduledAt: r,
    sentAt: r,
    dispatchLagSeconds: (values[(r * 7) % N] as number) / 100,
    late: false,
    ok: true,
    httpStatus: 200,
    ttftSeconds,
    itlSeconds,
    e2eSeconds,
    tpotSeconds: (e2eSeconds - ttftSeconds) / gaps,
    promptTokens: 500 + (r % 300),
    outputTokens: 128,
    requestedOutputTokens: 128,
  });
}
for (let pass = 0; pass < 3; pass++) for (const r of results) new RunStats().addResult(r); // warm-up
for (const r of results) stats.addResult(r);
const addTimes: number[] = [];
for (let pass = 0; pass < 5; pass++) {
  const s = new RunStats({ goodput: { ttftSeconds: 0.5, tpotSeconds: 0.05 } });
  const start = process.hrtime.bigint();
  for (const r of results) s.addResult(r);
  addTimes.push(Number(process.hrtime.bigint() - start) / requests);
}
stats.observeWindow(0, 10_000);
const runJson = JSON.stringify(stats);

observer.disconnect();
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
console.log(
  `stats bench (node ${process.version}, ${N.toLocaleString('en')} lognormal latencies, median 80 ms, σ 0.9)`,
);
console.log(
  `  Histogram.record():           ${median(perRecord).toFixed(1)} ns/call median, ${Math.min(...perRecord).toFixed(1)} best (${PASSES} passes)`,
);
console.log(`  GCs during ${PASSES}×1e6 records:    ${gcDuringRecord} (0: record() allocates nothing)`);
console.log(
  `  snapshot (1e6 samples):       ${json.length} bytes JSON (${kib(json.length)}), ${single.bucketCount} buckets`,
);
console.log(
  `  parse + fromJSON (validated): ${fromJsonUs.toFixed(0)} µs;  merge: ${mergeUs.toFixed(1)} µs;  summary(): ${summaryUs.toFixed(1)} µs`,
);
console.log(
  `  summary: p50 ${(summary.p50 * 1000).toFixed(2)} ms, p99 ${(summary.p99 * 1000).toFixed(2)} ms, p99.9 ${(summary.p999 * 1000).toFixed(2)} ms`,
);
console.log(
  `  RunStats.addResult (128 tok): ${(median(addTimes) / 1000).toFixed(2)} µs/request median (${(median(addTimes) / 132).toFixed(1)} ns per recorded sample)`,
);
console.log(
  `  RunStats snapshot:            ${runJson.length} bytes JSON (${kib(runJson.length)}) for ${requests.toLocaleString('en')} requests, 7 histograms`,
);
