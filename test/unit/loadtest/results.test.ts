import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type LatencyStats, ResultSummary } from '../../../api/loadtest.ts';
import { expectedRunners } from '../../../operator/loadtest/desired/plan.ts';
import {
  evaluateThresholds,
  mergeRunnerResults,
  resultStatus,
  summarize,
  thresholdsMessage,
} from '../../../operator/loadtest/status/index.ts';
import { decodeResultConfigMap } from '../../../runner/handoff/protocol.ts';
import { RunStats } from '../../../runner/stats/index.ts';
import { loadTest, request, resultCm, runnerResult, statsOf } from './fixtures.ts';

const three = loadTest({ parallelism: 3 });
const expected3 = expectedRunners(three);

/** Runner i's requests: TTFTs spread differently per runner, so per-runner p95s differ from the merged one. */
function runnerRequests(i: number, n: number) {
  return Array.from({ length: n }, (_, k) =>
    request({ ttft: i === 2 ? 1.5 + k / 1000 : 0.05 + (k % 50) / 1000, outputTokens: 64 + i }),
  );
}

function finals(counts: number[]) {
  return counts.map((n, i) =>
    decodeResultConfigMap(
      resultCm(i, runnerResult(statsOf(runnerRequests(i, n)), { shard: { index: i, count: counts.length } })),
    ),
  );
}

describe('mergeRunnerResults', () => {
  it('adds up requests exactly and takes percentiles from the merged histograms, never averages', () => {
    const merged = mergeRunnerResults(finals([500, 300, 100]), expected3, { requireFinal: true });
    assert.deepEqual(merged.problems, []);
    assert.equal(merged.allFinal, true);
    assert.equal(merged.merged.requests.completed, 900);
    assert.equal(merged.merged.requests.ok, 900);
    // The same requests recorded by one runner give bit-identical quantiles.
    const single = statsOf([...runnerRequests(0, 500), ...runnerRequests(1, 300), ...runnerRequests(2, 100)]);
    const q = (s: RunStats) => s.histograms.ttft.quantiles([0.5, 0.95, 0.99]);
    assert.deepEqual(q(merged.merged), q(single));
    const averageOfP95s =
      merged.runners.reduce((sum, runner) => sum + (runner.stats.histograms.ttft.quantile(0.95) ?? 0), 0) / 3;
    assert.notEqual(merged.merged.histograms.ttft.quantile(0.95), averageOfP95s);
    assert.deepEqual([...merged.byTarget.keys()], ['mistral-7b']);
  });

  it('reports a corrupt result with the runner and the field, and still merges the others', () => {
    const results = finals([500, 300, 100]);
    const bad = runnerResult(statsOf(runnerRequests(1, 300)), { shard: { index: 1, count: 3 } });
    const badStats = bad.targets[0]?.stats as { requests: { completed: number } } | undefined;
    assert.ok(badStats);
    badStats.requests.completed = 299;
    results[1] = decodeResultConfigMap(resultCm(1, bad));
    results[2] = {
      name: 'nightly-result-2',
      index: 2,
      phase: 'Finished',
      error: 'result.json: not valid JSON (Unexpected end)',
    };
    const merged = mergeRunnerResults(results, expected3, { requireFinal: true });
    assert.equal(merged.merged.requests.completed, 500);
    assert.deepEqual(
      merged.problems.map((p) => [p.index, p.reason, p.field]),
      [
        [1, 'RunnerResultInvalid', 'targets[0].stats.requests.completed'],
        [2, 'RunnerResultInvalid', undefined],
      ],
    );
    assert.match(
      merged.problems[0]?.message ?? '',
      /^runner 1 \(nightly-result-1, pod nightly-runners-1-x7k2p\): invalid statistics: targets\[0\]\.stats\.requests\.completed: is 299 but ok \(300\) \+ failed \(0\) = 300/,
    );
    assert.match(merged.problems[1]?.message ?? '', /runner 2 \(nightly-result-2\): result\.json: not valid JSON/);
    assert.equal(merged.allFinal, false);
  });

  it('treats missing and partial-only results as problems only once the run is over', () => {
    const results = finals([500, 300, 100]).slice(0, 2);
    results[1] = decodeResultConfigMap(
      resultCm(1, runnerResult(statsOf(runnerRequests(1, 100)), { shard: { index: 1, count: 3 }, final: false })),
    );
    const running = mergeRunnerResults(results, expected3);
    assert.deepEqual(running.problems, []);
    assert.equal(running.merged.requests.completed, 600);
    const over = mergeRunnerResults(results, expected3, { requireFinal: true });
    assert.equal(over.merged.requests.completed, 500);
    assert.deepEqual(
      over.problems.map((p) => [p.index, p.reason]),
      [
        [1, 'RunnerResultMissing'],
        [2, 'RunnerResultMissing'],
      ],
    );
    assert.match(
      over.problems[0]?.message ?? '',
      /no final result \(the last partial result is from .*\); its requests are left out/,
    );
    assert.match(over.problems[1]?.message ?? '', /runner 2 \(result ConfigMap of runner 2\): no result ConfigMap/);
  });

  it('refuses a result for another shard or target, and one measured with other goodput limits', () => {
    const results = finals([10, 10, 10]);
    results[0] = decodeResultConfigMap(
      resultCm(0, runnerResult(statsOf([request()]), { shard: { index: 1, count: 3 } })),
    );
    results[1] = decodeResultConfigMap(
      resultCm(1, runnerResult(statsOf([request()]), { shard: { index: 1, count: 3 }, target: 'other' })),
    );
    results[2] = decodeResultConfigMap(
      resultCm(
        2,
        runnerResult(statsOf([request()], undefined, { goodput: { ttftSeconds: 1 } }), {
          shard: { index: 2, count: 3 },
        }),
      ),
    );
    const merged = mergeRunnerResults(results.slice(0, 2), expected3, { requireFinal: true });
    assert.match(merged.problems[0]?.message ?? '', /shard is 1\/3 but runner 0 should run shard 0\/3/);
    assert.match(merged.problems[1]?.message ?? '', /expected results of target "mistral-7b" only, got "other"/);
    const mixed = mergeRunnerResults([finals([10, 10, 10])[0] as never, results[2] as never], expected3);
    assert.match(mixed.problems[0]?.message ?? '', /cannot merge run stats with different goodput limits/);
  });

  it('knows which runners reported ready', () => {
    const ready = mergeRunnerResults([decodeResultConfigMap(resultCm(0, undefined, 'Ready'))], expected3);
    assert.deepEqual([...ready.ready], [0]);
    assert.equal(ready.runners.length, 0);
  });
});

describe('summarize', () => {
  it('fills status.summary from the merged histograms, valid against the API schema', () => {
    const stats = statsOf(
      [
        ...Array.from({ length: 95 }, () => request({ ttft: 0.1234, outputTokens: 128 })),
        ...Array.from({ length: 5 }, () => request({ ttft: 2.5, outputTokens: 128 })),
        request({ ok: false, errorClass: 'http', httpStatus: 503 }),
        request({ ok: false, errorClass: 'connect' }),
      ],
      { startMs: Date.parse('2025-06-01T10:01:00Z'), seconds: 40 },
      { goodput: { ttftSeconds: 1 } },
    );
    const summary = summarize(stats);
    assert.equal(ResultSummary.safeParse(summary).success, true);
    assert.equal(summary.measuredSeconds, 40);
    assert.deepEqual(summary.requests, { total: 102, succeeded: 100, failed: 2, late: 0 });
    const ttft = summary.ttft as LatencyStats;
    assert.equal(ttft.samples, 100);
    assert.equal(ttft.p50, '123ms');
    assert.equal(ttft.microseconds?.p50, 123_400);
    assert.equal(ttft.p99, '2.5s');
    assert.equal(ttft.max, '2.5s');
    assert.deepEqual(summary.throughput, {
      requestsPerSecond: '2.5',
      outputTokensPerSecond: '320',
      totalTokensPerSecond: '1600',
    });
    assert.deepEqual(summary.tokens, { prompt: 51_200, output: 12_800 });
    assert.deepEqual(summary.errors, {
      total: 2,
      ratePercent: '1.96%',
      byClass: { connect: 1, http: 1 },
      byStatus: { '200': 100, '503': 1 },
    });
    assert.deepEqual(summary.goodput, { requests: 95, requestsPerSecond: '2.38', percent: '93.1%' });
  });

  it('leaves out what an empty run could not measure', () => {
    const summary = summarize(new RunStats());
    assert.equal(ResultSummary.safeParse(summary).success, true);
    assert.deepEqual(summary.ttft, { samples: 0 });
    assert.equal(summary.throughput, undefined);
    assert.equal(summary.measuredSeconds, undefined);
  });
});

describe('evaluateThresholds', () => {
  const slow = statsOf(Array.from({ length: 100 }, (_, k) => request({ ttft: k < 90 ? 0.2 : 0.7 })));

  it('reports each threshold with its limit and the merged value; unmeasured counts as breached', () => {
    const results = evaluateThresholds(slow, {
      ttftP95Milliseconds: 500,
      ttftP99Milliseconds: 1000,
      maxErrorRatePercent: '0.5',
      minOutputTokensPerSecond: 800,
    });
    assert.deepEqual(results, [
      { name: 'ttftP95Milliseconds', limit: '500ms', observed: '700ms', met: false },
      { name: 'ttftP99Milliseconds', limit: '1s', observed: '700ms', met: true },
      { name: 'maxErrorRatePercent', limit: '0.5%', observed: '0%', met: true },
      { name: 'minOutputTokensPerSecond', limit: '800/s', observed: '128/s', met: false },
    ]);
    assert.equal(
      thresholdsMessage(results),
      '2 of 4 thresholds breached: ttftP95Milliseconds 700ms (limit 500ms); minOutputTokensPerSecond 128/s (limit 800/s)',
    );
    assert.deepEqual(evaluateThresholds(new RunStats(), { tpotP95Milliseconds: 50 }), [
      { name: 'tpotP95Milliseconds', limit: '50ms', observed: 'not measured', met: false },
    ]);
    assert.deepEqual(evaluateThresholds(slow, undefined), []);
  });

  it('with several targets holds each target to the threshold and shows the worst', () => {
    const fast = statsOf(Array.from({ length: 100 }, () => request({ ttft: 0.1 })));
    const byTarget = new Map([
      ['a', fast],
      ['b', slow],
    ]);
    assert.deepEqual(evaluateThresholds(byTarget, { ttftP95Milliseconds: 500 }), [
      { name: 'ttftP95Milliseconds', limit: '500ms', observed: '700ms (target b)', met: false },
    ]);
    const lt = loadTest({
      targets: [
        { name: 'a', url: 'http://a:8000/v1', model: 'm' },
        { name: 'b', url: 'http://b:8000/v1', model: 'm' },
      ],
      slo: { ttftP95Milliseconds: 500 },
    });
    const results = [
      decodeResultConfigMap(resultCm(0, runnerResult(fast, { target: 'a' }))),
      decodeResultConfigMap(resultCm(1, runnerResult(slow, { target: 'b' }))),
    ];
    const status = resultStatus(lt, mergeRunnerResults(results, expectedRunners(lt), { requireFinal: true }));
    assert.deepEqual(
      status.targets?.map((t) => [t.name, t.summary?.requests?.total]),
      [
        ['a', 100],
        ['b', 100],
      ],
    );
    assert.equal(status.summary.requests?.total, 200);
    assert.equal(status.thresholds[0]?.met, false);
  });
});
