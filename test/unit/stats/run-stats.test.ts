import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ErrorClass, RequestResult } from '../../../runner/engine/types.ts';
import { MergeError, SnapshotError } from '../../../runner/stats/errors.ts';
import { Histogram } from '../../../runner/stats/histogram.ts';
import { computeRates, runRates, summarizeRun } from '../../../runner/stats/rates.ts';
import { goodputLimitsFromMilliseconds, RunStats, type RunStatsSnapshot } from '../../../runner/stats/run-stats.ts';
import { normal, seededRandom } from './samples.ts';

function result(overrides: Partial<RequestResult> = {}): RequestResult {
  return {
    index: 0,
    stage: 0,
    step: 0,
    phase: 'measure',
    scheduledAt: 1_000,
    sentAt: 1_000.2,
    dispatchLagSeconds: 0.0002,
    late: false,
    ok: true,
    httpStatus: 200,
    ttftSeconds: 0.1,
    itlSeconds: [0.01, 0.02, 0.03],
    tpotSeconds: 0.02,
    e2eSeconds: 0.16,
    promptTokens: 100,
    outputTokens: 4,
    requestedOutputTokens: 4,
    ...overrides,
  };
}

const failures: [ErrorClass, number | undefined][] = [
  ['http', 503],
  ['http', 429],
  ['timeout', undefined],
  ['connect', undefined],
  ['broken_stream', 200],
  ['bad_payload', 200],
];

/** A seeded stream of results like a run's: mostly successes, some failures, warmup and cooldown at the ends. */
function resultStream(n: number, seed: number): RequestResult[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, (_, index) => {
    const phase = index < n * 0.05 ? 'warmup' : index > n * 0.95 ? 'cooldown' : 'measure';
    const lag = random() < 0.02 ? 0.05 : random() * 0.001;
    const base = { index, phase, dispatchLagSeconds: lag, late: lag > 0.01 } as const;
    if (random() < 0.08) {
      const [errorClass, httpStatus] = failures[Math.floor(random() * failures.length)] as [
        ErrorClass,
        number | undefined,
      ];
      return result({ ...base, ok: false, errorClass, httpStatus, itlSeconds: [], ttftSeconds: undefined });
    }
    const outputTokens = 1 + Math.floor(random() * 200);
    const ttft = Math.exp(Math.log(0.2) + 0.5 * normal(random));
    const itl = Array.from({ length: outputTokens - 1 }, () => (random() < 0.05 ? 0 : 0.01 + random() * 0.02));
    const e2e = ttft + itl.reduce((a, b) => a + b, 0);
    const r = result({
      ...base,
      ttftSeconds: ttft,
      itlSeconds: itl,
      e2eSeconds: e2e,
      tpotSeconds: outputTokens > 1 ? (e2e - ttft) / (outputTokens - 1) : undefined,
      promptTokens: 50 + Math.floor(random() * 1000),
      outputTokens,
      outputTokensEstimated: random() < 0.1 ? true : undefined,
    });
    return r;
  });
}

function statsOf(results: readonly RequestResult[], options = {}): RunStats {
  const s = new RunStats(options);
  for (const r of results) s.addResult(r);
  return s;
}

describe('RunStats.addResult', () => {
  it('counts outcomes, error classes, statuses and late requests of the measured window only', () => {
    const s = statsOf([
      result(),
      result({ late: true }),
      result({ ok: false, errorClass: 'http', httpStatus: 503, itlSeconds: [] }),
      result({ ok: false, errorClass: 'timeout', httpStatus: undefined, itlSeconds: [] }),
      result({ ok: false, errorClass: 'http', httpStatus: 503, itlSeconds: [] }),
      result({ phase: 'warmup' }),
      result({ phase: 'cooldown', ok: false, errorClass: 'connect' }),
      result({ phase: 'cooldown' }),
    ]);
    assert.deepEqual(s.requests, { completed: 5, ok: 2, failed: 3, late: 1 });
    assert.deepEqual(s.excluded, { warmup: 1, cooldown: 2 });
    assert.deepEqual(s.errors, {
      connect: 0,
      timeout: 1,
      http: 2,
      broken_stream: 0,
      bad_payload: 0,
      cancelled: 0,
      unclassified: 0,
    });
    assert.deepEqual(s.httpStatus, { '200': 2, '503': 2 });
    assert.equal(s.histograms.dispatchLag.count, 5, 'dispatch lag of every measured request, failed or not');
    assert.equal(s.histograms.ttft.count, 2, 'latencies of successful requests only');
    assert.equal(s.histograms.itl.count, 6);
    assert.equal(s.histograms.e2e.count, 2);
    assert.equal(s.promptTokens, 200);
    assert.equal(s.outputTokens, 8);
  });

  it('records every inter-token gap, including zeros', () => {
    const s = statsOf([result({ itlSeconds: [0, 0.01, 0, 0.02] }), result({ itlSeconds: [0.03] })]);
    assert.equal(s.histograms.itl.count, 5);
    assert.equal(s.histograms.itl.min, 0);
    assert.equal(s.histograms.itl.max, 0.03);
    assert.equal(s.histograms.itl.quantile(0.4), 0);
  });

  it('counts values a histogram cannot take instead of recording them or throwing', () => {
    const s = statsOf([
      result({ ttftSeconds: Number.NaN, itlSeconds: [0.01, -0.001, Number.POSITIVE_INFINITY], dispatchLagSeconds: -1 }),
    ]);
    assert.deepEqual(s.rejectedSamples, {
      ttft: 1,
      itl: 2,
      tpot: 0,
      e2e: 0,
      dispatchLag: 1,
      promptTokens: 0,
      outputTokens: 0,
    });
    assert.equal(s.histograms.itl.count, 1);
    assert.equal(s.histograms.ttft.count, 0);
    assert.deepEqual(RunStats.fromJSON(JSON.parse(JSON.stringify(s))).toJSON(), s.toJSON());
  });

  it('counts a failure without an error class as unclassified', () => {
    const s = statsOf([result({ ok: false, errorClass: undefined })]);
    assert.equal(s.errors.unclassified, 1);
  });

  it('counts successful requests whose output tokens were estimated', () => {
    const s = statsOf([result({ outputTokensEstimated: true }), result(), result({ outputTokensEstimated: true })]);
    assert.equal(s.outputTokensEstimated, 2);
  });
});

describe('goodput', () => {
  const limits = goodputLimitsFromMilliseconds({ ttftMilliseconds: 200, tpotMilliseconds: 50, e2eMilliseconds: 2000 });

  it('converts the LoadTest limits from milliseconds', () => {
    assert.deepEqual(limits, { ttftSeconds: 0.2, tpotSeconds: 0.05, e2eSeconds: 2 });
    assert.deepEqual(goodputLimitsFromMilliseconds({ e2eMilliseconds: 1500 }), { e2eSeconds: 1.5 });
  });

  it('counts requests that succeeded and met every limit (limits inclusive)', () => {
    const s = statsOf(
      [
        result({ ttftSeconds: 0.2, tpotSeconds: 0.05, e2eSeconds: 2 }), // good: exactly at every limit
        result({ ttftSeconds: 0.21 }), // TTFT too slow
        result({ tpotSeconds: 0.06 }), // TPOT too slow
        result({ e2eSeconds: 2.5 }), // E2E too slow
        result({ ok: false, errorClass: 'broken_stream' }), // failed: never good
        result({ tpotSeconds: undefined, outputTokens: 1 }), // good: one token has no TPOT
        result({ ttftSeconds: undefined, e2eSeconds: 0.15 }), // good: non-streaming, TTFT judged by E2E
        result({ ttftSeconds: undefined, e2eSeconds: 0.25 }), // non-streaming and too slow
        result({ e2eSeconds: undefined }), // no E2E cannot meet the E2E limit
      ],
      { goodput: limits },
    );
    assert.equal(s.good, 3);
    const rates = runRates(s);
    assert.ok(Math.abs(rates.goodputRatio - 3 / 9) < 1e-15);
  });

  it('with only some limits set, judges only those', () => {
    const s = statsOf([result({ ttftSeconds: 5, e2eSeconds: 1 }), result({ e2eSeconds: 3 })], {
      goodput: { e2eSeconds: 2 },
    });
    assert.equal(s.good, 1);
  });

  it('rejects limits that are not positive numbers, or none at all', () => {
    assert.throws(() => new RunStats({ goodput: { ttftSeconds: 0 } }), /goodput\.ttftSeconds must be a number > 0/);
    assert.throws(() => new RunStats({ goodput: { e2eSeconds: Number.NaN } }), /goodput\.e2eSeconds/);
    assert.throws(() => new RunStats({ goodput: {} }), /at least one of ttftSeconds, tpotSeconds or e2eSeconds/);
  });
});

describe('RunStats.merge', () => {
  const options = { goodput: { ttftSeconds: 0.25, tpotSeconds: 0.02 } };

  it('N runners merged equal one runner over all results, exactly', () => {
    const results = resultStream(6000, 42);
    const one = statsOf(results, options);
    one.observeWindow(10_000, 70_000);
    for (const parts of [2, 3, 7]) {
      const runners = Array.from({ length: parts }, (_, i) => {
        const s = statsOf(
          results.filter((r) => r.index % parts === i),
          options,
        );
        s.observeWindow(10_000 + i, 70_000 - parts + i); // runners start and stop a little apart
        return s;
      });
      const merged = RunStats.merged(runners);
      merged.observeWindow(10_000, 70_000);
      assert.deepEqual(merged.toJSON(), one.toJSON(), `${parts} runners`);
      assert.deepEqual(summarizeRun(merged), summarizeRun(one), `${parts} runners`);
    }
  });

  it('is commutative and associative, and empty parts change nothing', () => {
    const results = resultStream(3000, 7);
    const [a, b, c] = [0, 1, 2].map((i) =>
      statsOf(
        results.filter((r) => r.index % 3 === i),
        options,
      ),
    ) as [RunStats, RunStats, RunStats];
    const abc = RunStats.merged([a, b, c]).toJSON();
    assert.deepEqual(RunStats.merged([c, a, b]).toJSON(), abc);
    assert.deepEqual(RunStats.merged([a, RunStats.merged([b, c])]).toJSON(), abc);
    assert.deepEqual(RunStats.merged([new RunStats(options), a, b, new RunStats(options), c]).toJSON(), abc);
  });

  it('spans the merged window from the earliest start to the latest end', () => {
    const a = new RunStats();
    a.observeWindow(1_000, 5_000);
    const b = new RunStats();
    b.observeWindow(2_000, 9_000);
    const none = new RunStats();
    const merged = RunStats.merged([a, none, b]);
    assert.deepEqual(merged.window, { startMs: 1_000, endMs: 9_000 });
    assert.equal(merged.windowSeconds, 8);
    assert.equal(none.window, null);
    assert.ok(Number.isNaN(none.windowSeconds));
  });

  it('refuses parts with other goodput limits or histogram precision, unchanged', () => {
    const a = statsOf([result()], options);
    const before = JSON.stringify(a);
    assert.throws(
      () => a.merge(statsOf([result()], { goodput: { ttftSeconds: 0.5 } })),
      (err: unknown) => err instanceof MergeError && /different goodput limits/.test(err.message),
    );
    assert.throws(() => a.merge(statsOf([result()])), /different goodput limits: .*ttftSeconds.* and none/);
    assert.throws(
      () => a.merge(statsOf([result()], { ...options, subBucketBits: 5 })),
      /different histogram schemes: subBucketBits 7 and 5/,
    );
    assert.equal(JSON.stringify(a), before);
  });
});

describe('rates', () => {
  it('derive from merged counts and the merged window', () => {
    const rates = computeRates({
      windowSeconds: 20,
      requests: { completed: 100, ok: 90, failed: 10, late: 0 },
      promptTokens: 9000,
      outputTokens: 11_520,
      good: 80,
    });
    assert.deepEqual(rates, {
      windowSeconds: 20,
      requestsPerSecond: 4.5,
      completedRequestsPerSecond: 5,
      outputTokensPerSecond: 576,
      totalTokensPerSecond: 1026,
      goodputPerSecond: 4,
      errorRatio: 0.1,
      goodputRatio: 0.8,
    });
  });

  it('are NaN without a window or with no requests, and goodput NaN without limits', () => {
    const rates = runRates(statsOf([result()]));
    assert.ok(Number.isNaN(rates.requestsPerSecond));
    assert.ok(Number.isNaN(rates.goodputPerSecond));
    assert.ok(Number.isNaN(rates.goodputRatio));
    assert.equal(rates.errorRatio, 0);
    const empty = new RunStats();
    empty.observeWindow(0, 1000);
    const none = runRates(empty);
    assert.equal(none.requestsPerSecond, 0);
    assert.ok(Number.isNaN(none.errorRatio));
    const zeroLength = new RunStats();
    zeroLength.observeWindow(5, 5);
    assert.ok(Number.isNaN(runRates(zeroLength).requestsPerSecond));
  });

  it('use successful requests and their tokens', () => {
    const s = statsOf([
      result({ promptTokens: 100, outputTokens: 10 }),
      result({ promptTokens: 300, outputTokens: 30 }),
      result({ ok: false, errorClass: 'http', httpStatus: 500, promptTokens: 1000, outputTokens: 1000 }),
    ]);
    s.observeWindow(0, 2000);
    const rates = runRates(s);
    assert.equal(rates.requestsPerSecond, 1);
    assert.equal(rates.completedRequestsPerSecond, 1.5);
    assert.equal(rates.outputTokensPerSecond, 20);
    assert.equal(rates.totalTokensPerSecond, 220);
  });

  it('rejects an inverted or non-finite window', () => {
    const s = new RunStats();
    assert.throws(() => s.observeWindow(10, 5), /finite startMs ≤ endMs, got 10 \.\. 5/);
    assert.throws(() => s.observeWindow(Number.NaN, 5), RangeError);
  });
});

describe('summarizeRun', () => {
  it('gives latency and token statistics from the histograms, never averaged percentiles', () => {
    const s = statsOf(resultStream(2000, 3), { goodput: { e2eSeconds: 3 } });
    s.observeWindow(0, 60_000);
    const summary = summarizeRun(s);
    assert.deepEqual(summary.latency.ttft, s.histograms.ttft.summary());
    assert.deepEqual(summary.latency.itl, s.histograms.itl.summary());
    assert.deepEqual(summary.tokenDistribution.outputTokens, s.histograms.outputTokens.summary());
    assert.equal(summary.tokens.output, s.histograms.outputTokens.sum);
    assert.equal(summary.goodput?.good, s.good);
    assert.equal(summary.rates.windowSeconds, 60);
    assert.equal(summary.requests.completed, s.requests.completed);
  });
});

describe('RunStats snapshots', () => {
  function wire(): RunStatsSnapshot {
    const s = statsOf(resultStream(500, 5), { goodput: { ttftSeconds: 0.3 } });
    s.observeWindow(1_700_000_000_000, 1_700_000_060_000.5);
    return JSON.parse(JSON.stringify(s)) as RunStatsSnapshot;
  }

  function assertRejected(snapshot: unknown, field: string, problem: RegExp): void {
    assert.throws(
      () => RunStats.fromJSON(snapshot, 'runner-3'),
      (err: unknown) => {
        assert.ok(err instanceof SnapshotError, `expected a SnapshotError, got ${String(err)}`);
        const issue = err.issues.find((line) => line.startsWith(`runner-3${field}:`));
        assert.ok(issue, `no issue names runner-3${field}; issues: ${err.issues.join(' | ')}`);
        assert.match(issue, problem);
        return true;
      },
    );
  }

  it('round-trip losslessly', () => {
    const snapshot = wire();
    const back = RunStats.fromJSON(snapshot);
    assert.deepEqual(back.toJSON(), snapshot);
    assert.deepEqual(summarizeRun(back), summarizeRun(RunStats.fromJSON(JSON.parse(JSON.stringify(back)))));
    const plain = new RunStats();
    assert.deepEqual(RunStats.fromJSON(JSON.parse(JSON.stringify(plain))).toJSON(), plain.toJSON());
  });

  it('keep goodput limits, so a restored part merges only with its own kind', () => {
    const back = RunStats.fromJSON(wire());
    assert.deepEqual(back.goodputLimits, { ttftSeconds: 0.3 });
    assert.throws(() => back.merge(new RunStats()), MergeError);
  });

  it('reject an unsupported version', () => {
    assertRejected({ ...wire(), v: 9 }, '.v', /unsupported snapshot version 9/);
  });

  it('reject counts that contradict each other', () => {
    const s = wire();
    assertRejected(
      { ...s, requests: { ...s.requests, ok: s.requests.ok + 1 } },
      '.requests.completed',
      /but ok \(\d+\) \+ failed \(\d+\)/,
    );
    assertRejected({ ...s, errors: { ...s.errors, timeout: s.errors.timeout + 1 } }, '.errors', /add up to \d+ but/);
    assertRejected(
      { ...s, goodput: { limits: { ttftSeconds: 0.3 }, good: s.requests.ok + 1 } },
      '.goodput.good',
      /exceeds/,
    );
    assertRejected({ ...s, requests: { ...s.requests, late: s.requests.completed + 1 } }, '.requests.late', /exceeds/);
    assertRejected(
      { ...s, rejectedSamples: { ...s.rejectedSamples, dispatchLag: 1 } },
      '.histograms.dispatchLag.count',
      /but requests\.completed is/,
    );
  });

  it('reject a corrupt histogram, naming the runner and metric', () => {
    const s = wire();
    const itl = s.histograms.itl;
    assertRejected(
      { ...s, histograms: { ...s.histograms, itl: { ...itl, count: itl.count + 1 } } },
      '.histograms.itl.count',
      /but runner-3\.histograms\.itl\.buckets\.counts add up to/,
    );
    const relabelled = { ...s.histograms.tpot, scheme: { kind: 'log-linear-f64', subBucketBits: 6 } };
    assertRejected(
      { ...s, histograms: { ...s.histograms, tpot: relabelled } },
      '.histograms.tpot.min',
      /lies in bucket \d+, not in the first bucket/,
    );
    const coarse = new Histogram({ subBucketBits: 6 });
    coarse.record(0.02);
    coarse.record(0.03);
    assertRejected(
      { ...s, histograms: { ...s.histograms, tpot: coarse.toJSON() } },
      '.histograms.tpot.scheme.subBucketBits',
      /is 6 but ttft's is 7/,
    );
  });

  it('reject unknown error classes, bad status codes, a bad window and missing parts', () => {
    const s = wire();
    assertRejected({ ...s, errors: { ...s.errors, gremlins: 1 } }, '.errors.gremlins', /unknown field/);
    assertRejected({ ...s, httpStatus: { ...s.httpStatus, '99': 1 } }, '.httpStatus.99', /HTTP status code/);
    assertRejected({ ...s, window: { startMs: 2, endMs: 1 } }, '.window', /startMs must not be after endMs/);
    const { histograms: _h, ...noHistograms } = s;
    assertRejected(noHistograms, '.histograms', /expected object/);
    assertRejected({ ...s, goodput: { limits: {}, good: 0 } }, '.goodput.limits', /needs at least one limit/);
  });
});
