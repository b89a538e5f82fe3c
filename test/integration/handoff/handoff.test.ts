/**
 * The runner ↔ operator hand-off against the real control plane: the rendered objects pass the apiserver's
 * validation, the runner's Role allows exactly the hand-off (under real RBAC, with a ServiceAccount token), the
 * start barrier releases N runners of the real Indexed Job (pod executor) at one agreed time, and their
 * results come back through ConfigMaps and merge to exactly the requests sent.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
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
  decideStart,
  detectRunnerFailure,
  mergeRunnerResults,
  resultStatus,
} from '../../../operator/loadtest/status/index.ts';
import {
  ConfigMapResultSink,
  configMapApi,
  createRunnerHandoff,
  decodeResultConfigMap,
} from '../../../runner/handoff/index.ts';
import { startSimulator } from '../../../runner/sim/index.ts';
import { ApiClient, fromEnv, type PodExecutor, runnerImage, waitFor } from '../../cluster/index.ts';
import { installCrds } from '../../support/crds.ts';
import { loadTest as fixtureLoadTest, request, runnerResult, statsOf } from '../../unit/loadtest/fixtures.ts';
import { apply, type Observed, observe } from './operator-stub.ts';

const cluster = fromEnv();
let admin: ApiClient;
let namespace = '';
const timings: Partial<RunnerTimings> = { metricsLingerSeconds: 0, gracePeriodSeconds: 5, flushSeconds: 5 };

before(async () => {
  admin = await ApiClient.fromKubeConfig(cluster.kubeConfig());
  await installCrds(cluster);
  namespace = await cluster.createNamespace('handoff');
});

after(async () => {
  admin?.close();
  await cluster.stop();
});

async function createLoadTest(name: string, spec: LoadTestSpecInput): Promise<LoadTest> {
  const created = await admin.request<unknown>('POST', `/apis/loadlm.dev/v1alpha1/namespaces/${namespace}/loadtests`, {
    body: { apiVersion: 'loadlm.dev/v1alpha1', kind: 'LoadTest', metadata: { name, namespace }, spec },
  });
  return parseLoadTest(created);
}

/** Everything the reconcile applies before the start, in its order (the Job last). */
async function applyRunnerObjects(lt: LoadTest, image = runnerImage): Promise<void> {
  const rbac = renderRunnerRbac(lt);
  const objects: KubeObject[] = [
    renderRunnerConfig(lt).configMap,
    ...(rbac.serviceAccount ? [rbac.serviceAccount] : []),
    rbac.role,
    rbac.roleBinding,
    renderRunnerService(lt),
    ...renderResultPlaceholders(lt),
    renderRunnerJob(lt, { image, timings }),
  ];
  for (const object of objects) await apply(admin, object);
}

/** A client-node KubeConfig holding a token of `serviceAccount`, as a runner pod has. */
async function serviceAccountKubeConfig(serviceAccount: string): Promise<KubeConfig> {
  const { stdout } = await cluster.kubectl(['create', 'token', serviceAccount, '-n', namespace, '--duration=10m']);
  const current = cluster.kubeConfig().getCurrentCluster();
  assert.ok(current);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      {
        name: 'test',
        server: current.server,
        skipTLSVerify: false,
        ...(current.caData ? { caData: current.caData } : {}),
        ...(current.caFile ? { caFile: current.caFile } : {}),
      },
    ],
    users: [{ name: serviceAccount, token: stdout.trim() }],
    contexts: [{ name: 'runner', cluster: 'test', user: serviceAccount, namespace }],
    currentContext: 'runner',
  });
  return kubeConfig;
}

const smallSpec = (url = 'http://127.0.0.1:9/v1'): LoadTestSpecInput => ({
  targets: [{ name: 'sim', url, model: 'sim-model' }],
  load: { profile: 'constant', rate: 30, durationSeconds: 4 },
  // calibration stays at its default (probe): the CRD currently rejects "off" (see the report)
  data: { promptTokens: { type: 'fixed', value: 16 }, outputTokens: { type: 'fixed', value: 8 } },
  startupDeadlineSeconds: 60,
  cleanupPolicy: 'Never',
});

describe('rendered objects', () => {
  it('pass the apiserver’s validation (server-side dry run), including the longest names and most runners', async () => {
    const variants = [
      fixtureLoadTest({}, { namespace }),
      fixtureLoadTest(
        {
          targets: Array.from({ length: 8 }, (_, i) => ({ name: `t${i}`, url: `http://t${i}:8000/v1`, model: 'm' })),
          parallelism: 100,
          load: { profile: 'constant', rate: 800, durationSeconds: 60 },
        },
        { name: 'a'.repeat(52), namespace },
      ),
      fixtureLoadTest(
        {
          targets: [
            {
              name: 'm',
              url: 'http://m:8000/v1',
              model: 'm',
              apiKeySecretRef: { name: 'key', key: 'api-key' },
            },
          ],
          data: {
            dataset: { configMapRef: { name: 'prompts', key: 'p.jsonl' } },
            outputTokens: { type: 'fixed', value: 8 },
          },
          runner: {
            resources: { requests: { memory: '2Gi' } },
            nodeSelector: { pool: 'load' },
            tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }],
            podLabels: { team: 'x' },
            env: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=1536' }],
          },
        },
        { name: 'overrides', namespace },
      ),
    ];
    for (const lt of variants) {
      const rbac = renderRunnerRbac(lt);
      const objects: KubeObject[] = [
        renderRunnerConfig(lt).configMap,
        ...(rbac.serviceAccount ? [rbac.serviceAccount] : []),
        rbac.role,
        rbac.roleBinding,
        renderRunnerService(lt),
        ...renderResultPlaceholders(lt).slice(0, 3),
        renderStartSignal(lt, { kind: 'start', startAtMs: Date.now() }),
        renderRunnerJob(lt, { image: runnerImage }),
      ];
      for (const object of objects) await apply(admin, object, { dryRun: true });
    }
    // Why the Job name shortens: the apiserver refuses an Indexed Job whose last pod hostname exceeds 63 characters.
    const [, long] = variants;
    assert.ok(long);
    const job = renderRunnerJob(long, { image: runnerImage });
    assert.equal(job.metadata.name, runnerJobName(long.metadata.name ?? '', 800));
    await assert.rejects(
      apply(admin, { ...job, metadata: { ...job.metadata, name: `${'a'.repeat(52)}-runners` } }, { dryRun: true }),
      /will not able to create pod with invalid DNS label/,
    );
  });
});

describe('runner RBAC and the result hand-off', () => {
  it('lets a runner patch its pre-created result and read the start signal, and nothing else', async (t) => {
    const lt = await createLoadTest('rbac', { ...smallSpec(), parallelism: 2 });
    const rbac = renderRunnerRbac(lt);
    for (const object of [rbac.serviceAccount, rbac.role, rbac.roleBinding]) if (object) await apply(admin, object);
    await apply(admin, renderRunnerConfig(lt).configMap);
    const [placeholder0] = renderResultPlaceholders(lt);
    assert.ok(placeholder0);
    await apply(admin, placeholder0); // runner 1's placeholder is left out on purpose
    const api = configMapApi(await serviceAccountKubeConfig('rbac-runner'));
    const loadTest = { name: 'rbac', uid: lt.metadata.uid ?? '' };
    const sink = (index: number) =>
      new ConfigMapResultSink({ api, name: `rbac-result-${index}`, namespace, loadTest, index, retryDelayMs: 10 });

    await sink(0).ready();
    // An apply that would create the object is authorized as `create`, which the Role does not grant.
    await assert.rejects(sink(1).ready(), /cannot write the result ConfigMap .*rbac-result-1: forbidden/);
    await assert.rejects(
      api.getByName(namespace, 'rbac-runner-config'),
      (e: unknown) => (e as { status: number }).status === 403,
    );
    await assert.rejects(
      api.apply(
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'rbac-runner-config', namespace } },
        { fieldManager: 'loadlm-runner', force: true },
      ),
      (e: unknown) => (e as { status: number }).status === 403,
    );
    // list (with the name field selector) and watch on the start signal are allowed by name.
    assert.equal((await api.getByName(namespace, 'rbac-start')).configMap, undefined);

    const handoff = createRunnerHandoff({
      api,
      identity: { namespace, loadTest, index: 0, pod: 'rbac-runners-0-test' },
      resultConfigMap: 'rbac-result-0',
      startSignal: 'rbac-start',
      startTimeoutMs: 30_000,
    });
    const started = handoff.awaitStart();
    const startAtMs = Date.now() + 1500;
    await apply(admin, renderStartSignal(lt, { kind: 'start', startAtMs }));
    assert.equal(await started, startAtMs);

    const requests = Array.from({ length: 10_000 }, (_, i) =>
      request({ ttft: 0.05 + ((i * 7919) % 1000) / 2000, dispatchLagSeconds: ((i * 104_729) % 997) / 1e6 }),
    );
    await handoff.sink.partial(
      runnerResult(statsOf(requests.slice(0, 4000)), { shard: { index: 0, count: 2 }, target: 'sim', final: false }),
    );
    await handoff.sink.final(runnerResult(statsOf(requests), { shard: { index: 0, count: 2 }, target: 'sim' }));

    const stored = await admin.request<KubeObject & { data?: Record<string, string> }>(
      'GET',
      `/api/v1/namespaces/${namespace}/configmaps/rbac-result-0`,
    );
    const managers = (stored.metadata?.managedFields ?? []).map((entry) => entry.manager).sort();
    assert.deepEqual(managers, ['loadlm-operator', 'loadlm-runner']);
    assert.deepEqual(
      stored.metadata?.ownerReferences?.map((o) => [o.name, o.uid, o.controller, o.blockOwnerDeletion]),
      [['rbac', lt.metadata.uid, true, true]],
    );
    const bytes = Buffer.byteLength(stored.data?.['result.json'] ?? '');
    t.diagnostic(`result ConfigMap of 10,000 requests × 128 tokens: ${bytes} bytes of JSON`);
    const merged = mergeRunnerResults([decodeResultConfigMap(stored as never)], expectedRunners(lt));
    assert.deepEqual(merged.problems, []);
    assert.equal(merged.merged.requests.completed, 10_000);
  });
});

describe('start barrier with the real Job controller and pod executor', () => {
  let executor: PodExecutor;
  let sim: Awaited<ReturnType<typeof startSimulator>>;

  before(async () => {
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
  });

  /** Plays the reconcile's start barrier until it starts or fails. */
  async function runBarrier(lt: LoadTest, jobName: string): Promise<{ startAtMs: number; seen: Observed }> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const seen = await observe(admin, namespace, lt.metadata.name ?? '', jobName);
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
      if (decision.action === 'fail') assert.fail(`start failed: ${decision.reason}: ${decision.message}`);
      if (decision.action === 'start') {
        await apply(admin, renderStartSignal(lt, { kind: 'start', startAtMs: decision.startAtMs }));
        return { startAtMs: decision.startAtMs, seen };
      }
      if (Date.now() > deadline) assert.fail(`runners not ready in 60s: ${decision.message}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  it('starts 3 runners at one agreed time and merges exactly the requests they sent', async (t) => {
    const lt = await createLoadTest('barrier', { ...smallSpec(`${sim.url}/v1`), parallelism: 3 });
    const jobName = runnerJobName('barrier', 3);
    await applyRunnerObjects(lt);
    const { startAtMs } = await runBarrier(lt, jobName);
    const expected = expectedRunners(lt);
    const seen = await waitFor(
      'all 3 runners to hand over a final result',
      async () => {
        const observed = await observe(admin, namespace, 'barrier', jobName);
        const failure = detectRunnerFailure(
          {
            pods: observed.pods,
            ...(observed.job ? { job: observed.job } : {}),
            started: true,
            results: mergeRunnerResults(observed.results, expected),
          },
          Date.now(),
          lt,
        );
        if (failure) throw new Error(`${failure.reason}: ${failure.message}`);
        return mergeRunnerResults(observed.results, expected).allFinal ? observed : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const merged = mergeRunnerResults(seen.results, expected, { requireFinal: true });
    assert.deepEqual(merged.problems, []);
    // 30 requests/s for 4 s on one schedule: 120 slots, split slot i → runner i mod 3.
    assert.deepEqual(
      merged.runners.map((runner) => [runner.index, runner.stats.requests.completed, runner.status]),
      [
        [0, 40, 'success'],
        [1, 40, 'success'],
        [2, 40, 'success'],
      ],
    );
    assert.equal(merged.merged.requests.completed, 120);
    assert.equal(merged.merged.requests.ok, 120);
    // Every runner's measured window opens at the agreed start (one schedule, not three).
    for (const runner of merged.runners) {
      const opened = runner.stats.window?.startMs ?? Number.NaN;
      assert.ok(
        Math.abs(opened - startAtMs) < 50,
        `runner ${runner.index} opened its window at ${opened}, start ${startAtMs}`,
      );
    }
    const status = resultStatus(lt, merged);
    assert.equal(status.summary.requests?.total, 120);
    t.diagnostic(`TTFT p50 ${status.summary.ttft && 'p50' in status.summary.ttft ? status.summary.ttft.p50 : '?'}`);
    t.diagnostic(
      `result ConfigMap sizes: ${seen.resultConfigMaps.map((cm) => Buffer.byteLength(cm.data?.['result.json'] ?? '')).join(', ')} bytes`,
    );
    await waitFor('the runner Job to complete', async () => {
      const job = (await observe(admin, namespace, 'barrier', jobName)).job;
      return job?.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True');
    });
  });

  it('releases waiting runners at once with the operator’s reason when the start is aborted', async () => {
    const lt = await createLoadTest('aborted', { ...smallSpec(`${sim.url}/v1`), parallelism: 2 });
    const jobName = runnerJobName('aborted', 2);
    await applyRunnerObjects(lt);
    await waitFor('both runners to report ready', async () => {
      const seen = await observe(admin, namespace, 'aborted', jobName);
      return mergeRunnerResults(seen.results, expectedRunners(lt)).ready.size === 2;
    });
    await apply(
      admin,
      renderStartSignal(lt, { kind: 'abort', reason: 'StartupDeadlineExceeded', message: 'runner 7 was not ready' }),
    );
    const failed = await waitFor(
      'both runner pods to fail with the reason',
      async () => {
        const { pods } = await observe(admin, namespace, 'aborted', jobName);
        return pods.length === 2 && pods.every((pod) => pod.status?.phase === 'Failed') ? pods : undefined;
      },
      { timeoutMs: 30_000 },
    );
    for (const pod of failed) {
      const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
      assert.equal(terminated?.exitCode, 3);
      assert.match(
        terminated?.message ?? '',
        /the operator aborted the test before the start: StartupDeadlineExceeded: runner 7 was not ready/,
      );
    }
  });
});

describe('ownership', () => {
  it('deleting a LoadTest collects the result ConfigMaps the runners wrote (garbage collector)', async () => {
    // Last in the file: the garbage collector starts watching a new CRD only at its next resource sync (30 s).
    const names = ['rbac', 'barrier'];
    for (const name of names) {
      await admin.request('DELETE', `/apis/loadlm.dev/v1alpha1/namespaces/${namespace}/loadtests/${name}`);
    }
    await waitFor(
      'the garbage collector to delete the result ConfigMaps of rbac and barrier',
      async () => {
        const left = await admin.request<{ items: unknown[] }>('GET', `/api/v1/namespaces/${namespace}/configmaps`, {
          query: { labelSelector: `loadlm.dev/result=true,loadlm.dev/loadtest in (${names.join(',')})` },
        });
        return left.items.length === 0;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
  });
});
