/**
 * `loadlm compare` on the operator's report of a sweep: the report the operator really builds (from runner results
 * with per-step statistics) gives the same sweep points a runner report does, and the throughput-vs-latency plot.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectedRunners } from '../../../operator/loadtest/desired/plan.ts';
import { buildReport, mergeRunnerResults, renderReportConfigMap } from '../../../operator/loadtest/status/index.ts';
import { sweepCharts } from '../../../runner/compare/html.ts';
import { inputsFromDocument } from '../../../runner/compare/report-input.ts';
import { decodeResultConfigMap } from '../../../runner/handoff/protocol.ts';
import type { RunnerResult } from '../../../runner/report/result-sink.ts';
import { loadTest, resultCm } from '../loadtest/fixtures.ts';
import { runner0, runner1, sweepResult } from '../loadtest/sweep-fixtures.ts';

const from = { source: 'context kind-a: LoadTest bench/nightly', sourceShort: 'kind-a' };

function operatorReportOf(results: RunnerResult[], parallelism: number) {
  const lt =
    parallelism === 1
      ? loadTest({ load: { profile: 'sweep', sweep: { rates: 2, stepSeconds: 10 } } })
      : // The API keeps sweeps on one runner per target today; the report reads N runners the same way.
        loadTest({ parallelism });
  const merged = mergeRunnerResults(
    results.map((r, i) => decodeResultConfigMap(resultCm(i, r))),
    expectedRunners(lt),
    { requireFinal: true },
  );
  assert.deepEqual(merged.problems, []);
  const report = buildReport(lt, { results: merged, thresholds: [], outcome: { reason: 'Completed', message: '' } });
  return renderReportConfigMap(lt, report).configMap;
}

describe('compare on the operator’s report of a sweep', () => {
  it('reads the steps from the report ConfigMap and plots throughput against latency', () => {
    const configMap = operatorReportOf([sweepResult(0, runner0, undefined, 1)], 1);
    const [input] = inputsFromDocument(configMap, from, { perTarget: false });
    assert.ok(input);
    assert.equal(input.kind, 'operator-report');
    assert.deepEqual(
      input.steps.map((s) => [
        s.step,
        s.label,
        s.targetRate,
        s.metrics.requests.completed,
        s.metrics.requestsPerSecond,
      ]),
      [
        [0, 'synchronous', undefined, 20, 2],
        [1, 'throughput', undefined, 90, 9],
        [2, 'constant@3.00', 3, 30, 3],
        [3, 'constant@6.00', 6, 60, 6],
      ],
    );
    assert.deepEqual(input.warnings, []);
    const charts = sweepCharts([input]);
    assert.equal(charts.length, 2, 'output tok/s against TTFT p95 and TPOT p95');
    // --per-target reads the same steps.
    const [perTarget] = inputsFromDocument(configMap, from, { perTarget: true });
    assert.equal(perTarget?.steps.length, 4);
  });

  it('reads steps merged from several runners and names the steps fewer runners ran', () => {
    const configMap = operatorReportOf([sweepResult(0, runner0), sweepResult(1, runner1.slice(0, 3))], 2);
    const [input] = inputsFromDocument(configMap, from, { perTarget: false });
    assert.ok(input);
    assert.deepEqual(
      input.steps.map((s) => [s.label, s.metrics.requests.completed]),
      [
        ['synchronous', 38],
        ['throughput', 170],
        ['constant@5.70', 57],
        ['constant@6.00', 60],
      ],
    );
    assert.deepEqual(input.warnings, [
      'mistral-7b: some runners stopped their sweep earlier than others, so these steps got less load: ' +
        'constant@6.00 (1 of 2 runners)',
    ]);
  });

  it('warns with the operator’s reason when the report has no steps for a target', () => {
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
    const [input] = inputsFromDocument(operatorReportOf([trimmed], 1), from, { perTarget: false });
    assert.deepEqual(input?.steps, []);
    assert.deepEqual(input?.warnings, [
      'mistral-7b: no sweep steps in the report (runner 0 (nightly-result-0): left out: too large)',
    ]);
  });
});
