/** Sweep steps from runner results: merged across runners step by step, and into the operator's report. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { expectedRunners } from '../../../operator/loadtest/desired/plan.ts';
import {
  buildReport,
  type LoadTestReport,
  mergeRunnerResults,
  renderReportConfigMap,
  resultStatus,
} from '../../../operator/loadtest/status/index.ts';
import { mergeTargetSteps } from '../../../operator/loadtest/status/steps.ts';
import { decodeResultConfigMap } from '../../../runner/handoff/protocol.ts';
import type { RunnerResult } from '../../../runner/report/result-sink.ts';
import { RunStats } from '../../../runner/stats/index.ts';
import { createdMs, loadTest, request, resultCm, runnerResult, statsOf } from './fixtures.ts';
import { runner0, runner1, stepsOf, sweepResult } from './sweep-fixtures.ts';

// The API runs a sweep on one runner per target today; the merge is written for N (same step index = same step),
// so its tests use a two-runner test, and the report's tests a real sweep LoadTest.
const twoRunners = expectedRunners(loadTest({ parallelism: 2 }));
const sweepLt = loadTest({ load: { profile: 'sweep', sweep: { rates: 2, stepSeconds: 10 } } });

function merged(results: RunnerResult[], expected = twoRunners) {
  return mergeRunnerResults(
    results.map((r, i) => decodeResultConfigMap(resultCm(i, r))),
    expected,
    { requireFinal: true },
  );
}

describe('mergeTargetSteps', () => {
  it('adds each step’s histograms across runners (never averages percentiles) and sums the rates', () => {
    const results = merged([sweepResult(0, runner0), sweepResult(1, runner1)]);
    assert.deepEqual(results.problems, []);
    const out = mergeTargetSteps(results.runners);
    assert.ok(out && 'steps' in out, JSON.stringify(out));
    assert.deepEqual(
      out.steps.map((s) => [s.step, s.label, s.profile, s.targetRate, s.runners, s.stats.requests.completed]),
      [
        [0, 'synchronous', 'synchronous', undefined, 2, 38],
        [1, 'throughput', 'throughput', undefined, 2, 170],
        [2, 'constant@5.70', 'constant', 5.7, 2, 57],
        [3, 'constant@11.40', 'constant', 11.4, 2, 114],
      ],
    );
    // Bit-identical to one RunStats that saw both runners' requests of the step.
    const step3 = out.steps[3];
    assert.ok(step3);
    const alone = RunStats.merged([stepsOf(0, runner0).stats[3] as RunStats, stepsOf(1, runner1).stats[3] as RunStats]);
    const q = (s: RunStats) => s.histograms.ttft.quantiles([0.5, 0.95, 0.99]);
    assert.deepEqual(q(step3.stats), q(alone));
    const averaged =
      ((stepsOf(0, runner0).stats[3] as RunStats).histograms.ttft.quantile(0.95) +
        (stepsOf(1, runner1).stats[3] as RunStats).histograms.ttft.quantile(0.95)) /
      2;
    assert.notEqual(step3.stats.histograms.ttft.quantile(0.95), averaged);
    // The steps add up to the whole run the status reports.
    const total = out.steps.reduce((n, s) => n + s.stats.requests.completed, 0);
    assert.equal(total, results.merged.requests.completed);
  });

  it('keeps a step only some runners ran (one saturated earlier), saying how many ran it', () => {
    const saturated = runner1.slice(0, 3).map((p, i) => (i === 2 ? { ...p, saturationReason: 'p95 TTFT rose 4x' } : p));
    const out = mergeTargetSteps(merged([sweepResult(0, runner0), sweepResult(1, saturated)]).runners);
    assert.ok(out && 'steps' in out);
    assert.deepEqual(
      out.steps.map((s) => [s.label, s.runners, s.saturated, s.saturationReason]),
      [
        ['synchronous', 2, undefined, undefined],
        ['throughput', 2, undefined, undefined],
        ['constant@5.70', 2, true, 'runner 1: p95 TTFT rose 4x'],
        ['constant@6.00', 1, undefined, undefined],
      ],
    );
  });

  it('leaves the steps out, naming the runner, when one sent none, bad ones, or left them out itself', () => {
    const none = merged([sweepResult(0, runner0), sweepResult(1, runner1, (r) => delete r.targets[0]?.steps)]);
    assert.deepEqual(mergeTargetSteps(none.runners), {
      omitted: 'runner 1 (nightly-result-1) sent no per-step results',
    });

    const bad = merged([
      sweepResult(0, runner0),
      sweepResult(1, runner1, (r) => {
        const stats = r.targets[0]?.steps?.[2]?.stats as { requests: { completed: number } } | undefined;
        assert.ok(stats);
        stats.requests.completed += 1;
      }),
    ]);
    // The whole-run statistics are fine, so the test is not failed for it; only the steps go.
    assert.deepEqual(bad.problems, []);
    const out = mergeTargetSteps(bad.runners);
    assert.ok(out && 'omitted' in out);
    assert.match(out.omitted, /^runner 1 \(nightly-result-1\): invalid statistics: targets\[0\]\.steps\[2\]\.stats/);

    const duplicated = merged([
      sweepResult(0, runner0),
      sweepResult(1, runner1, (r) => {
        const steps = r.targets[0]?.steps;
        assert.ok(steps?.[1]);
        steps[1].step = 0;
      }),
    ]);
    assert.deepEqual(mergeTargetSteps(duplicated.runners), {
      omitted: 'runner 1 (nightly-result-1): targets[0].steps[1].step: step 0 appears twice',
    });

    const trimmed = merged([
      sweepResult(0, runner0),
      sweepResult(1, runner1, (r) => {
        const target = r.targets[0];
        assert.ok(target);
        delete target.steps;
        target.stepsOmitted = 'left out: too large';
      }),
    ]);
    assert.deepEqual(mergeTargetSteps(trimmed.runners), {
      omitted: 'runner 1 (nightly-result-1): left out: too large',
    });
  });

  it('gives nothing for a single-step run', () => {
    const single = merged([0, 1].map((i) => runnerResult(statsOf([request()]), { shard: { index: i, count: 2 } })));
    assert.equal(mergeTargetSteps(single.runners), undefined);
  });
});

describe('the operator’s report of a sweep', () => {
  const one = expectedRunners(sweepLt);
  const results = merged([sweepResult(0, runner0, undefined, 1)], one);
  const report = buildReport(sweepLt, {
    results,
    thresholds: [],
    outcome: { reason: 'Completed', message: '' },
    now: new Date(createdMs + 500_000),
  });

  it('has per-step results in the runner report’s step shape, plus the runners per step', () => {
    const target = report.targets[0];
    assert.ok(target?.steps);
    assert.equal(target.stepsOmitted, undefined);
    const third = target.steps[2];
    assert.ok(third);
    assert.deepEqual(Object.keys(third), ['step', 'label', 'profile', 'targetRate', 'runners', 'summary', 'stats']);
    assert.equal(third.label, 'constant@3.00');
    assert.equal(third.targetRate, 3);
    assert.equal(third.runners, 1);
    assert.equal(third.summary.requests.completed, 30);
    assert.equal(third.summary.rates.windowSeconds, 10);
    assert.equal(third.summary.rates.requestsPerSecond, 3);
    assert.deepEqual(RunStats.fromJSON(third.stats).requests, { completed: 30, ok: 30, failed: 0, late: 0 });
    // Status stays the summary of all steps.
    assert.equal(resultStatus(sweepLt, results).summary.requests?.total, 20 + 90 + 30 + 60);
  });

  it('is stored in the report ConfigMap with the steps when it fits', () => {
    const rendered = renderReportConfigMap(sweepLt, report);
    const stored = JSON.parse(rendered.configMap.data?.['report.json'] ?? '') as LoadTestReport;
    assert.equal(stored.targets[0]?.steps?.length, 4);
  });

  it('loses its steps first, saying why, when it would not fit a ConfigMap even gzipped', () => {
    // Random text does not compress: 1.5 MB of it in a step label outgrows the ConfigMap.
    const noise = Array.from({ length: 150_000 }, () => Math.random().toString(36).slice(2, 12)).join('');
    const target = report.targets[0];
    assert.ok(target?.steps?.[0]);
    const huge: LoadTestReport = {
      ...report,
      targets: [{ ...target, steps: [{ ...target.steps[0], label: noise }, ...target.steps.slice(1)] }],
    };
    const rendered = renderReportConfigMap(sweepLt, huge);
    const gz = rendered.configMap.binaryData?.['report.json.gz'];
    const text = gz
      ? gunzipSync(Buffer.from(gz, 'base64')).toString('utf8')
      : (rendered.configMap.data?.['report.json'] ?? '');
    const stored = JSON.parse(text) as LoadTestReport;
    assert.equal(stored.targets[0]?.steps, undefined);
    assert.match(
      stored.targets[0]?.stepsOmitted ?? '',
      /^left out: with per-step results the report is \d+ bytes of JSON \(\d+ gzipped and base64-encoded\), more than a ConfigMap holds$/,
    );
    assert.equal(stored.summary.requests.completed, report.summary.requests.completed);
  });

  it('says why a target has no steps', () => {
    const trimmed = sweepResult(
      0,
      runner0,
      (r) => {
        const target = r.targets[0];
        assert.ok(target);
        delete target.steps;
        target.stepsOmitted = 'left out: too large';
      },
      1,
    );
    const out = buildReport(sweepLt, {
      results: merged([trimmed], one),
      thresholds: [],
      outcome: { reason: 'Completed', message: '' },
    });
    assert.equal(out.targets[0]?.steps, undefined);
    assert.equal(out.targets[0]?.stepsOmitted, 'runner 0 (nightly-result-0): left out: too large');
  });
});
