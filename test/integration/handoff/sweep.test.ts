/**
 * A sweep's per-step results end to end on the real control plane: the real runner (pod executor, real Indexed
 * Job) sweeps `loadlm sim`, hands its steps over in its result ConfigMap, the operator's pure functions merge them
 * into the report ConfigMap, and `loadlm compare` reads the sweep points back from that ConfigMap.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type LoadTest, parseLoadTest } from '../../../api/index.ts';
import type { LoadTestSpecInput } from '../../../api/loadtest.ts';
import {
  expectedRunners,
  type KubeObject,
  type RunnerTimings,
  renderResultPlaceholders,
  renderRunnerConfig,
  renderRunnerJob,
  renderRunnerRbac,
  renderRunnerService,
  renderStartSignal,
  runnerJobName,
} from '../../../operator/loadtest/desired/index.ts';
import {
  buildReport,
  decideStart,
  detectRunnerFailure,
  type LoadTestReport,
  mergeRunnerResults,
  renderReportConfigMap,
  resultStatus,
} from '../../../operator/loadtest/status/index.ts';
import { sweepCharts } from '../../../runner/compare/html.ts';
import { inputsFromDocument } from '../../../runner/compare/report-input.ts';
import type { RunnerResult } from '../../../runner/report/result-sink.ts';
import { startSimulator } from '../../../runner/sim/index.ts';
import { ApiClient, fromEnv, type PodExecutor, runnerImage, waitFor } from '../../cluster/index.ts';
import { installCrds } from '../../support/crds.ts';
import { apply, observe } from './operator-stub.ts';

const cluster = fromEnv();
let admin: ApiClient;
let namespace = '';
let executor: PodExecutor;
let sim: Awaited<ReturnType<typeof startSimulator>>;
const timings: Partial<RunnerTimings> = { metricsLingerSeconds: 0, gracePeriodSeconds: 5, flushSeconds: 5 };

before(async () => {
  admin = await ApiClient.fromKubeConfig(cluster.kubeConfig());
  await installCrds(cluster);
  namespace = await cluster.createNamespace('sweep');
  sim = await startSimulator({ port: 0, ttftMs: 20, itlMs: 2, model: 'sim-model' });
  executor = await cluster.startPodExecutor({
    images: {
      [runnerImage]: { entrypoint: [process.execPath, join(import.meta.dirname, '../../../runner/main.ts')] },
    },
    namespaces: [namespace],
  });
});

after(async () => {
  await executor?.stop();
  await sim?.close();
  admin?.close();
  await cluster.stop();
});

/** The shortest sweep the API allows: one rate between synchronous and throughput, 10 s per step. */
const sweepSpec = (url: string): LoadTestSpecInput => ({
  targets: [{ name: 'sim', url, model: 'sim-model' }],
  load: { profile: 'sweep', sweep: { rates: 1, stepSeconds: 10 }, concurrency: 4 },
  data: { promptTokens: { type: 'fixed', value: 16 }, outputTokens: { type: 'fixed', value: 8 } },
  startupDeadlineSeconds: 60,
  cleanupPolicy: 'Never',
});

async function createLoadTest(name: string, spec: LoadTestSpecInput): Promise<LoadTest> {
  const created = await admin.request<unknown>('POST', `/apis/loadlm.dev/v1alpha1/namespaces/${namespace}/loadtests`, {
    body: { apiVersion: 'loadlm.dev/v1alpha1', kind: 'LoadTest', metadata: { name, namespace }, spec },
  });
  return parseLoadTest(created);
}

/** Everything the reconcile applies before the start, in its order (the Job last). */
async function applyRunnerObjects(lt: LoadTest): Promise<void> {
  const rbac = renderRunnerRbac(lt);
  const objects: KubeObject[] = [
    renderRunnerConfig(lt).configMap,
    ...(rbac.serviceAccount ? [rbac.serviceAccount] : []),
    rbac.role,
    rbac.roleBinding,
    renderRunnerService(lt),
    ...renderResultPlaceholders(lt),
    renderRunnerJob(lt, { image: runnerImage, timings }),
  ];
  for (const object of objects) await apply(admin, object);
}

/** Plays the reconcile's start barrier until the runners are released (or the start fails). */
async function releaseRunners(lt: LoadTest, jobName: string): Promise<void> {
  const name = lt.metadata.name ?? '';
  await waitFor(
    'the runners to be ready and the start signal written',
    async () => {
      const seen = await observe(admin, namespace, name, jobName);
      const decision = decideStart(
        {
          pods: seen.pods,
          ...(seen.job ? { job: seen.job } : {}),
          results: mergeRunnerResults(seen.results, expectedRunners(lt)),
          ...(seen.startSignal ? { startSignal: seen.startSignal } : {}),
          ...(seen.job?.metadata.creationTimestamp ? { startupBeganAt: seen.job.metadata.creationTimestamp } : {}),
        },
        Date.now(),
        lt,
        { startLeadSeconds: 2 },
      );
      if (decision.action === 'fail') throw new Error(`start failed: ${decision.reason}: ${decision.message}`);
      if (decision.action !== 'start') return undefined;
      await apply(admin, renderStartSignal(lt, { kind: 'start', startAtMs: decision.startAtMs }));
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

describe('a sweep LoadTest’s per-step results', () => {
  it('reach the report ConfigMap through the runner’s result ConfigMap, and compare plots them', async (t) => {
    const lt = await createLoadTest('sweep', sweepSpec(`${sim.url}/v1`));
    const jobName = runnerJobName('sweep', 1);
    const expected = expectedRunners(lt);
    await applyRunnerObjects(lt);
    await releaseRunners(lt, jobName);
    const seen = await waitFor(
      'the runner to hand over its final result (3 steps of 10 s)',
      async () => {
        const observed = await observe(admin, namespace, 'sweep', jobName);
        const merged = mergeRunnerResults(observed.results, expected);
        const failure = detectRunnerFailure(
          { pods: observed.pods, ...(observed.job ? { job: observed.job } : {}), started: true, results: merged },
          Date.now(),
          lt,
        );
        if (failure) throw new Error(`${failure.reason}: ${failure.message}`);
        return merged.allFinal ? observed : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );

    // The runner's side: the result ConfigMap carries the steps.
    const payload = seen.results[0]?.payload as RunnerResult | undefined;
    const runnerSteps = payload?.targets[0]?.steps;
    assert.ok(runnerSteps, `no steps in the result: ${JSON.stringify(payload?.targets[0]?.stepsOmitted ?? null)}`);
    assert.deepEqual(
      runnerSteps.slice(0, 2).map((s) => [s.step, s.label, s.profile]),
      [
        [0, 'synchronous', 'synchronous'],
        [1, 'throughput', 'throughput'],
      ],
    );
    assert.equal(runnerSteps.length, 3);
    assert.equal(runnerSteps[2]?.profile, 'constant');
    t.diagnostic(
      `result ConfigMap with 3 steps: ${seen.resultConfigMaps.map((cm) => Buffer.byteLength(cm.data?.['result.json'] ?? '')).join(', ')} bytes`,
    );

    // The operator's side: merge, status (all steps), report with the steps, stored as the reconcile stores it.
    const merged = mergeRunnerResults(seen.results, expected, { requireFinal: true });
    assert.deepEqual(merged.problems, []);
    const status = resultStatus(lt, merged);
    const report = buildReport(lt, { results: merged, thresholds: [], outcome: { reason: 'Completed', message: '' } });
    const steps = report.targets[0]?.steps;
    assert.ok(steps, `no steps in the report: ${report.targets[0]?.stepsOmitted}`);
    assert.deepEqual(
      steps.map((s) => [s.step, s.profile, s.runners]),
      [
        [0, 'synchronous', 1],
        [1, 'throughput', 1],
        [2, 'constant', 1],
      ],
    );
    const perStep = steps.map((s) => s.summary.requests.completed);
    assert.ok(
      perStep.every((n) => n > 0),
      `every step measured requests: ${perStep.join(', ')}`,
    );
    // The steps add up exactly to the whole run that status.summary shows.
    assert.equal(
      perStep.reduce((a, b) => a + b, 0),
      status.summary.requests?.total,
    );
    assert.ok((steps[2]?.targetRate ?? 0) > 0, 'the rate step has its target rate');
    const rendered = renderReportConfigMap(lt, report);
    await apply(admin, rendered.configMap);
    t.diagnostic(`report ConfigMap: ${rendered.bytes} bytes (${rendered.reportRef.key})`);

    // compare reads the stored report ConfigMap as `kubectl get cm -o json` prints it.
    const stored = await admin.request<unknown>(
      'GET',
      `/api/v1/namespaces/${namespace}/configmaps/${rendered.reportRef.name}`,
    );
    const [input] = inputsFromDocument(
      stored,
      { source: `ConfigMap ${namespace}/${rendered.reportRef.name}`, sourceShort: 'sweep' },
      { perTarget: false },
    );
    assert.ok(input);
    assert.equal(input.kind, 'operator-report');
    assert.deepEqual(
      input.steps.map((s) => s.metrics.requests.completed),
      perStep,
    );
    assert.deepEqual(input.warnings, []);
    assert.equal(sweepCharts([input]).length, 2);
    const storedReport = JSON.parse(
      (stored as { data: Record<string, string> }).data['report.json'] ?? '',
    ) as LoadTestReport;
    assert.equal(storedReport.targets[0]?.steps?.length, 3);
  });
});
