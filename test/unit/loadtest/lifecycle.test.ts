import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { LoadTestStatus, phaseFromConditions } from '../../../api/loadtest.ts';
import { expectedRunners } from '../../../operator/loadtest/desired/plan.ts';
import {
  buildReport,
  conditionChanges,
  decideStart,
  mergeRunnerResults,
  nextConditions,
  progress,
  renderReportConfigMap,
  resultProblemsFailure,
  resultStatus,
  runnerCounts,
} from '../../../operator/loadtest/status/index.ts';
import { decodeResultConfigMap, parseStartSignal, startSignalData } from '../../../runner/handoff/protocol.ts';
import { RunStats } from '../../../runner/stats/index.ts';
import { at, createdMs, loadTest, request, resultCm, runnerPod, runnerResult, statsOf } from './fixtures.ts';

const lt = loadTest({ parallelism: 3, slo: { ttftP95Milliseconds: 500 } });
const expected = expectedRunners(lt);
const seconds = (s: number) => createdMs + s * 1000;
const running = (index: number) => runnerPod(index, { kind: 'running', ready: true });
const readyResults = (indexes: number[]) =>
  mergeRunnerResults(
    indexes.map((i) => decodeResultConfigMap(resultCm(i, undefined, 'Ready'))),
    expected,
  );

describe('decideStart', () => {
  it('waits, naming who is not ready, until every runner reported ready; then starts after the lead', () => {
    const pods = [running(0), running(1), runnerPod(2, { kind: 'waiting', reason: 'ContainerCreating' })];
    const wait = decideStart({ pods, results: readyResults([0, 1]), startupBeganAt: at(0) }, seconds(20), lt);
    assert.deepEqual(wait, {
      action: 'wait',
      ready: 2,
      total: 3,
      message: '2/3 runners ready; waiting for runner 2 (pod nightly-runners-2-x7k2p): Pending: ContainerCreating',
    });
    const start = decideStart(
      { pods: [running(0), running(1), running(2)], results: readyResults([0, 1, 2]), startupBeganAt: at(0) },
      seconds(25),
      lt,
    );
    assert.deepEqual(start, {
      action: 'start',
      startAtMs: seconds(30),
      startAt: new Date(seconds(30)).toISOString(),
      total: 3,
    });
  });

  it('does not count a runner whose pod died after reporting ready', () => {
    const died = runnerPod(2, { kind: 'terminated', exitCode: 137, reason: 'OOMKilled' });
    const decision = decideStart(
      { pods: [running(0), running(1), died], results: readyResults([0, 1, 2]), startupBeganAt: at(0) },
      seconds(25),
      lt,
    );
    assert.equal(decision.action, 'fail');
    assert.equal(decision.action === 'fail' && decision.reason, 'OOMKilled');
  });

  it('keeps an existing start time (operator restarts) and reports an abort as the failure', () => {
    const existing = parseStartSignal({ data: startSignalData({ kind: 'start', startAtMs: seconds(30) }) });
    const again = decideStart({ pods: [], ...(existing ? { startSignal: existing } : {}) }, seconds(500), lt);
    assert.equal(again.action === 'start' && again.startAtMs, seconds(30));
    const abort = parseStartSignal({
      data: startSignalData({ kind: 'abort', reason: 'ImagePullBackOff', message: 'm' }),
    });
    assert.deepEqual(decideStart({ pods: [], ...(abort ? { startSignal: abort } : {}) }, seconds(5), lt), {
      action: 'fail',
      reason: 'ImagePullBackOff',
      message: 'm',
    });
  });

  it('fails at the startup deadline', () => {
    const decision = decideStart(
      { pods: [running(0), running(1), running(2)], results: readyResults([0, 1]), startupBeganAt: at(0) },
      seconds(300),
      lt,
    );
    assert.equal(decision.action === 'fail' && decision.reason, 'StartupDeadlineExceeded');
  });
});

describe('nextConditions', () => {
  const parse = (conditions: unknown) => LoadTestStatus.parse({ conditions }).conditions;

  it('walks Pending → Starting → Running → ThresholdsBreached, moving lastTransitionTime only on status changes', () => {
    const refused = nextConditions(
      undefined,
      { generation: 1, accepted: { ok: false, reason: 'SecretNotFound', message: 'Secret bench/k does not exist' } },
      seconds(1),
    );
    assert.equal(phaseFromConditions(parse(refused)), 'Pending');
    assert.deepEqual(
      refused.map((c) => [c.type, c.status, c.reason]),
      [
        ['Accepted', 'False', 'SecretNotFound'],
        ['RunnersReady', 'False', 'NotAccepted'],
        ['Succeeded', 'Unknown', 'Pending'],
        ['Failed', 'False', 'NoFailure'],
      ],
    );
    const waiting = nextConditions(
      refused,
      {
        generation: 1,
        accepted: { ok: true },
        start: { action: 'wait', ready: 1, total: 3, message: '1/3 runners ready' },
      },
      seconds(10),
    );
    assert.equal(phaseFromConditions(parse(waiting)), 'Starting');
    const runnersReady = (list: typeof waiting) => list.find((c) => c.type === 'RunnersReady');
    // Same status (False), new reason: the transition time stays.
    assert.equal(runnersReady(waiting)?.lastTransitionTime, at(1));
    assert.equal(waiting.find((c) => c.type === 'Accepted')?.lastTransitionTime, at(10));
    const started = nextConditions(
      waiting,
      {
        generation: 1,
        accepted: { ok: true },
        start: { action: 'start', startAtMs: seconds(30), startAt: new Date(seconds(30)).toISOString(), total: 3 },
      },
      seconds(25),
    );
    assert.equal(phaseFromConditions(parse(started)), 'Running');
    assert.equal(runnersReady(started)?.lastTransitionTime, at(25));
    assert.equal(runnersReady(started)?.message, 'all 3 runners ready; load starts at 2025-06-01T10:00:30.000Z');
    // A steady state writes nothing new.
    assert.deepEqual(
      nextConditions(
        started,
        {
          generation: 1,
          accepted: { ok: true },
          start: { action: 'start', startAtMs: seconds(30), startAt: new Date(seconds(30)).toISOString(), total: 3 },
        },
        seconds(40),
      ),
      started,
    );
    const thresholds = [{ name: 'ttftP95Milliseconds', limit: '500ms', observed: '612ms', met: false }];
    const done = nextConditions(
      started,
      { generation: 1, accepted: { ok: true }, completed: { thresholds, runners: 3 } },
      seconds(400),
    );
    assert.equal(phaseFromConditions(parse(done)), 'ThresholdsBreached');
    const succeeded = done.find((c) => c.type === 'Succeeded');
    assert.equal(succeeded?.reason, 'ThresholdsBreached');
    assert.equal(succeeded?.message, '1 of 1 thresholds breached: ttftP95Milliseconds 612ms (limit 500ms)');
    assert.equal(succeeded?.observedGeneration, 1);
    // Final: a late failure never re-judges a finished test.
    assert.deepEqual(
      nextConditions(done, { accepted: { ok: true }, failure: { reason: 'RunnerLost', message: 'x' } }, seconds(500)),
      done,
    );
    assert.deepEqual(
      conditionChanges(started, done).map((c) => [c.type, c.status, c.reason, c.eventType]),
      [
        ['RunnersReady', 'False', 'RunFinished', 'Normal'],
        ['Succeeded', 'False', 'ThresholdsBreached', 'Warning'],
        ['Failed', 'False', 'Completed', 'Normal'],
      ],
    );
  });

  it('ends in Failed with the reason on every failure condition, Succeeded=False too', () => {
    const failed = nextConditions(
      undefined,
      { accepted: { ok: true }, failure: { reason: 'OOMKilled', message: 'runner 1 …' } },
      seconds(50),
    );
    assert.equal(phaseFromConditions(parse(failed)), 'Failed');
    assert.deepEqual(
      failed.map((c) => [c.type, c.status, c.reason]),
      [
        ['Accepted', 'True', 'RunnerObjectsCreated'],
        ['RunnersReady', 'False', 'OOMKilled'],
        ['Succeeded', 'False', 'OOMKilled'],
        ['Failed', 'True', 'OOMKilled'],
      ],
    );
    const passed = nextConditions(
      undefined,
      { accepted: { ok: true }, completed: { thresholds: [], runners: 1 } },
      seconds(50),
    );
    assert.equal(phaseFromConditions(parse(passed)), 'Succeeded');
  });

  it('turns result problems into a failure that points at the other runners’ results', () => {
    assert.deepEqual(
      resultProblemsFailure([
        { index: 1, reason: 'RunnerResultInvalid', message: 'runner 1 (nightly-result-1): invalid statistics: …' },
        { index: 2, reason: 'RunnerResultMissing', message: 'runner 2: no result ConfigMap' },
      ]),
      {
        reason: 'RunnerResultInvalid',
        message:
          "runner 1 (nightly-result-1): invalid statistics: … (and 1 more problem); the other runners' results are in status.summary and the report",
      },
    );
  });
});

describe('progress and runner counts', () => {
  const partial = (i: number, ok: number, failed: number) =>
    decodeResultConfigMap(
      resultCm(
        i,
        runnerResult(
          statsOf([
            ...Array.from({ length: ok }, () => request()),
            ...Array.from({ length: failed }, () => request({ ok: false })),
          ]),
          {
            shard: { index: i, count: 3 },
            final: false,
          },
        ),
      ),
    );

  it('sums requests of all runners and reports elapsed time against the planned length', () => {
    const results = mergeRunnerResults([partial(0, 40, 1), partial(1, 38, 0), partial(2, 41, 2)], expected);
    assert.deepEqual(progress({ results, startAt: at(30) }, seconds(150), lt), {
      requestsCompleted: 122,
      requestsFailed: 3,
      elapsedSeconds: 120,
      expectedSeconds: 300,
      percent: '40%',
      updateTime: at(150),
    });
    assert.equal(progress({ results, startAt: at(30) }, seconds(900), lt).percent, '99%');
    assert.equal(progress({ results, startAt: at(30), finished: true }, seconds(900), lt).percent, '100%');
    const byCount = loadTest({ load: { profile: 'throughput', concurrency: 4, maxRequests: 1000 } });
    assert.equal(progress({ results }, seconds(100), byCount).percent, '12%');
  });

  it('counts runner pods by state', () => {
    const pods = [
      running(0),
      runnerPod(1, { kind: 'terminated', exitCode: 0, reason: 'Completed' }),
      runnerPod(2, { kind: 'pending' }),
    ];
    assert.deepEqual(runnerCounts(lt, pods, readyResults([0, 1])), {
      desired: 3,
      ready: 1,
      active: 1,
      succeeded: 1,
      failed: 0,
    });
  });
});

describe('report', () => {
  it('stores the full merged report in <lt>-report and points status.reportRef at it', () => {
    const results = mergeRunnerResults(
      [0, 1, 2].map((i) =>
        decodeResultConfigMap(
          resultCm(
            i,
            runnerResult(statsOf(Array.from({ length: 2000 }, (_, k) => request({ ttft: 0.05 + (k % 97) / 200 }))), {
              shard: { index: i, count: 3 },
            }),
          ),
        ),
      ),
      expected,
      { requireFinal: true },
    );
    const status = resultStatus(lt, results);
    const report = buildReport(lt, {
      results,
      thresholds: status.thresholds,
      outcome: { reason: 'ThresholdsBreached', message: 'm' },
      startedAt: at(30),
      completedAt: at(400),
      now: new Date(seconds(401)),
    });
    const { configMap, reportRef, bytes } = renderReportConfigMap(lt, report);
    assert.deepEqual(reportRef, { name: 'nightly-report', key: 'report.json' });
    assert.equal(configMap.metadata.labels['app.kubernetes.io/component'], 'report');
    assert.ok(bytes < 200 * 1024, `${bytes} bytes`);
    const parsed = JSON.parse(configMap.data?.['report.json'] ?? '{}');
    assert.equal(parsed.kind, 'LoadTestReport');
    assert.equal(parsed.summary.requests.completed, 6000);
    assert.equal(parsed.runners.length, 3);
    assert.equal(RunStats.fromJSON(parsed.stats).requests.completed, 6000);
    assert.equal(parsed.slo.met, false);
    assert.equal(parsed.config.loadtest, 'nightly');
  });

  it('gzips a report that would not fit a ConfigMap inline', () => {
    const results = mergeRunnerResults([], expected);
    const report = buildReport(lt, {
      results,
      thresholds: [],
      outcome: { reason: 'RunnerResultMissing', message: 'x'.repeat(1_000_000) },
    });
    const { configMap, reportRef } = renderReportConfigMap(lt, report);
    assert.equal(reportRef.key, 'report.json.gz');
    const json = gunzipSync(Buffer.from(configMap.binaryData?.['report.json.gz'] ?? '', 'base64')).toString();
    assert.equal(JSON.parse(json).outcome.message.length, 1_000_000);
  });
});
