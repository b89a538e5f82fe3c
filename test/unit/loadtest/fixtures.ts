/**
 * Fixtures for the LoadTest controller's pure functions: LoadTests as the apiserver stores them (parsed with the
 * API's schema, defaults applied), runner pods as a kubelet / the test pod executor report them, and runner
 * results built from real RunStats.
 */
import { type LoadTest, parseLoadTest } from '../../../api/index.ts';
import type { LoadTestSpecInput } from '../../../api/loadtest.ts';
import type { Pod } from '../../../operator/loadtest/desired/kube-types.ts';
import type { RequestResult } from '../../../runner/engine/types.ts';
import { type ConfigMapObject, resultConfigMap } from '../../../runner/handoff/protocol.ts';
import type { RunnerResult } from '../../../runner/report/result-sink.ts';
import { RunStats, type RunStatsOptions } from '../../../runner/stats/index.ts';

export const uid = '6c1f0a5e-3d7b-4c7e-9a51-0f2b8d9e4a11';
export const created = '2025-06-01T10:00:00Z';
export const createdMs = Date.parse(created);

export const baseSpec: LoadTestSpecInput = {
  environment: { name: 'development', provider: 'akamai-lke', cluster: 'rag-ray-dev', region: 'us-ord' },
  targets: [
    {
      name: 'mistral-7b',
      url: 'http://mistral-7b-predictor.development.svc.cluster.local:8012/v1',
      model: 'mistralai/Mistral-7B-Instruct-v0.3',
    },
  ],
  load: { profile: 'constant', rate: '2.5', durationSeconds: 300, warmupSeconds: 30, cooldownSeconds: 10 },
  data: {
    promptTokens: { type: 'normal', mean: 512, stddev: 128, min: 64, max: 2048 },
    outputTokens: { type: 'uniform', min: 64, max: 256 },
  },
};

export function loadTest(
  spec: Partial<LoadTestSpecInput> = {},
  meta: { name?: string; namespace?: string; status?: unknown } = {},
): LoadTest {
  return parseLoadTest({
    apiVersion: 'loadlm.dev/v1alpha1',
    kind: 'LoadTest',
    metadata: {
      name: meta.name ?? 'nightly',
      namespace: meta.namespace ?? 'bench',
      uid,
      generation: 1,
      creationTimestamp: created,
    },
    spec: { ...baseSpec, ...spec },
    ...(meta.status ? { status: meta.status } : {}),
  });
}

export const at = (seconds: number) => new Date(createdMs + seconds * 1000).toISOString().replace('.000Z', 'Z');

// ------------------------------------------------------------------------------------------------- pods

type PodState =
  | { kind: 'unscheduled'; message?: string }
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; ready: boolean }
  | { kind: 'terminated'; exitCode: number; reason: string; message?: string; podReason?: string; podMessage?: string }
  | { kind: 'pending' };

/** A runner pod of Job `<lt>-runners` as the Job controller creates it and the kubelet/executor reports it. */
export function runnerPod(
  index: number,
  state: PodState,
  options: { lt?: string; createdAt?: string; suffix?: string; memoryLimit?: string; deleting?: boolean } = {},
): Pod {
  const lt = options.lt ?? 'nightly';
  const name = `${lt}-runners-${index}-${options.suffix ?? 'x7k2p'}`;
  const createdAt = options.createdAt ?? at(1);
  const image = 'ghcr.io/loadlm/loadlm:0.1.0';
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'bench',
      uid: `pod-${index}`,
      creationTimestamp: createdAt,
      labels: {
        'batch.kubernetes.io/job-completion-index': String(index),
        'batch.kubernetes.io/job-name': `${lt}-runners`,
        'loadlm.dev/loadtest': lt,
        'app.kubernetes.io/component': 'runner',
      },
      annotations: { 'batch.kubernetes.io/job-completion-index': String(index) },
      ...(options.deleting ? { deletionTimestamp: at(200) } : {}),
    },
    spec: {
      ...(state.kind === 'unscheduled' || state.kind === 'pending' ? {} : { nodeName: 'loadlm-bench' }),
      containers: [{ name: 'runner', image, resources: { limits: { memory: options.memoryLimit ?? '1Gi' } } }],
    },
    status: { phase: 'Pending' },
  };
  const status = pod.status as NonNullable<Pod['status']>;
  const scheduled = { type: 'PodScheduled', status: 'True' as const, lastTransitionTime: createdAt };
  const containerStatus = (
    s: NonNullable<NonNullable<Pod['status']>['containerStatuses']>[number]['state'],
    ready = false,
  ) => ({
    name: 'runner',
    image,
    ready,
    restartCount: 0,
    started: s?.running !== undefined,
    state: s,
  });
  switch (state.kind) {
    case 'pending':
      break;
    case 'unscheduled':
      status.conditions = [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: state.message ?? "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.",
          lastTransitionTime: createdAt,
        },
      ];
      break;
    case 'waiting':
      status.conditions = [
        scheduled,
        {
          type: 'Ready',
          status: 'False',
          reason: 'ContainersNotReady',
          message: 'containers with unready status: [runner]',
        },
      ];
      status.containerStatuses = [
        containerStatus({ waiting: { reason: state.reason, ...(state.message ? { message: state.message } : {}) } }),
      ];
      break;
    case 'running':
      status.phase = 'Running';
      status.podIP = `127.0.3.${index + 2}`;
      status.conditions = [scheduled, { type: 'Ready', status: state.ready ? 'True' : 'False' }];
      status.containerStatuses = [containerStatus({ running: { startedAt: at(3) } }, state.ready)];
      break;
    case 'terminated':
      status.phase = state.exitCode === 0 ? 'Succeeded' : 'Failed';
      if (state.podReason) status.reason = state.podReason;
      if (state.podMessage) status.message = state.podMessage;
      status.conditions = [scheduled, { type: 'Ready', status: 'False', reason: 'PodCompleted' }];
      status.containerStatuses = [
        containerStatus({
          terminated: {
            exitCode: state.exitCode,
            reason: state.reason,
            ...(state.message ? { message: state.message } : {}),
            startedAt: at(3),
            finishedAt: at(400),
          },
        }),
      ];
      break;
  }
  return pod;
}

// ---------------------------------------------------------------------------------------------- results

/** A finished request in the measured window. */
export function request(
  partial: Partial<RequestResult> & { ttft?: number; outputTokens?: number } = {},
): RequestResult {
  const ok = partial.ok ?? true;
  const out = partial.outputTokens ?? 128;
  const ttft = partial.ttft ?? 0.08;
  const itl = 0.02;
  return {
    index: partial.index ?? 0,
    stage: 0,
    step: 0,
    phase: partial.phase ?? 'measure',
    scheduledAt: 0,
    sentAt: 0,
    dispatchLagSeconds: partial.dispatchLagSeconds ?? 0.0004,
    late: partial.late ?? false,
    ok,
    ...(ok
      ? {
          httpStatus: 200,
          ttftSeconds: ttft,
          itlSeconds: Array.from({ length: out - 1 }, () => itl),
          tpotSeconds: itl,
          e2eSeconds: ttft + itl * (out - 1),
          promptTokens: 512,
          outputTokens: out,
        }
      : {
          errorClass: partial.errorClass ?? 'connect',
          ...(partial.httpStatus ? { httpStatus: partial.httpStatus } : {}),
          itlSeconds: [],
        }),
    requestedOutputTokens: out,
  };
}

/** RunStats from requests, over a measured window of `seconds` starting at `startMs`. */
export function statsOf(
  requests: RequestResult[],
  window = { startMs: createdMs + 60_000, seconds: 100 },
  options: RunStatsOptions = {},
): RunStats {
  const stats = new RunStats(options);
  for (const r of requests) stats.addResult(r);
  stats.observeWindow(window.startMs, window.startMs + window.seconds * 1000);
  return stats;
}

export function runnerResult(
  stats: RunStats,
  options: {
    shard?: { index: number; count: number };
    target?: string;
    final?: boolean;
    status?: RunnerResult['status'];
    exitCode?: number;
    messages?: string[];
    counts?: NonNullable<RunnerResult['targets'][number]['counts']>;
    stopReason?: RunnerResult['targets'][number]['stopReason'];
  } = {},
): RunnerResult {
  const final = options.final ?? true;
  return {
    apiVersion: 'loadlm.dev/v1alpha1',
    kind: 'RunnerResult',
    schemaVersion: 1,
    final,
    updatedAt: at(400),
    startedAt: at(10),
    labels: { environment: 'development', loadtest: 'nightly' },
    shard: options.shard ?? { index: 0, count: 1 },
    ...(final
      ? { status: options.status ?? 'success', exitCode: options.exitCode ?? 0, messages: options.messages ?? [] }
      : {}),
    targets: [
      {
        name: options.target ?? 'mistral-7b',
        model: 'mistralai/Mistral-7B-Instruct-v0.3',
        stats: stats.toJSON(),
        ...(options.counts ? { counts: options.counts } : {}),
        ...(options.stopReason ? { stopReason: options.stopReason } : {}),
      },
    ],
  };
}

/** The result ConfigMap runner `index` writes (through the real encoder). */
export function resultCm(
  index: number,
  result: RunnerResult | undefined,
  phase: 'Ready' | 'Running' | 'Finished' = result ? (result.final ? 'Finished' : 'Running') : 'Ready',
  lt = 'nightly',
): ConfigMapObject {
  return resultConfigMap({
    name: `${lt}-result-${index}`,
    namespace: 'bench',
    loadTest: { name: lt, uid },
    index,
    pod: `${lt}-runners-${index}-x7k2p`,
    phase,
    ...(result ? { result } : {}),
    now: new Date(createdMs + 400_000),
  });
}
