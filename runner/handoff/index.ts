/**
 * The runner's Kubernetes hand-off, for a runner started by the operator's Job: results go to a ConfigMap
 * (ConfigMapResultSink), and the start barrier waits for the operator's start signal. The pod's identity comes
 * from environment variables the Job sets (`handoffEnv`), the object names from flags.
 *
 * Wiring in `loadlm run` (see operator/loadtest/README.md):
 *   const handoff = createRunnerHandoff({ kubeConfig, identity: handoffIdentityFromEnv(process.env),
 *     resultConfigMap: '--result-configmap', startSignal: '--start-signal', startTimeoutMs });
 *   runSession({ plan, options, logger, sink: handoff.sink, ... });   // sink for partial/final results
 *   const startAtMs = await handoff.awaitStart(signal);               // after /metrics is up, before the run
 *   plan.load.startAt = startAtMs;
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { ConfigMapResultSink } from './configmap-sink.ts';
import { type ConfigMapApi, configMapApi } from './kube-api.ts';
import { handoffEnv, type LoadTestIdentity } from './protocol.ts';
import { waitForStartSignal } from './start-signal.ts';

export * from './assignment.ts';
export * from './configmap-sink.ts';
export * from './kube-api.ts';
export * from './protocol.ts';
export * from './start-signal.ts';

export interface HandoffIdentity {
  namespace: string;
  loadTest: LoadTestIdentity;
  index: number;
  pod?: string;
}

/** Reads the pod's identity; an error names the missing or bad variable. */
export function handoffIdentityFromEnv(env: NodeJS.ProcessEnv): HandoffIdentity {
  const required = (name: string) => {
    const value = env[name];
    if (value === undefined || value === '') {
      throw new Error(`environment variable ${name} is not set (the operator's runner Job sets it)`);
    }
    return value;
  };
  const indexText = required(handoffEnv.runnerIndex);
  if (!/^(0|[1-9]\d{0,5})$/.test(indexText)) {
    throw new Error(`environment variable ${handoffEnv.runnerIndex}: expected an integer ≥ 0, got "${indexText}"`);
  }
  const pod = env[handoffEnv.podName];
  return {
    namespace: required(handoffEnv.namespace),
    loadTest: { name: required(handoffEnv.loadTestName), uid: required(handoffEnv.loadTestUid) },
    index: Number(indexText),
    ...(pod ? { pod } : {}),
  };
}

export interface RunnerHandoffOptions {
  identity: HandoffIdentity;
  /** Result ConfigMap name (--result-configmap). */
  resultConfigMap: string;
  /** Start signal ConfigMap name (--start-signal); without it awaitStart returns undefined at once. */
  startSignal?: string;
  /** How long to wait at the barrier (--start-timeout), from the call to awaitStart. */
  startTimeoutMs: number;
  kubeConfig?: KubeConfig;
  /** Instead of kubeConfig (tests). */
  api?: ConfigMapApi;
  onRetry?(what: 'result' | 'start', error: Error): void;
}

export interface RunnerHandoff {
  sink: ConfigMapResultSink;
  /**
   * Reports this runner ready (its result ConfigMap, phase Ready) and waits for the common start time.
   * Rejects with StartAbortedError, StartDeadlineError, or an error naming the RBAC problem.
   */
  awaitStart(signal?: AbortSignal): Promise<number | undefined>;
}

export function createRunnerHandoff(o: RunnerHandoffOptions): RunnerHandoff {
  const api = o.api ?? (o.kubeConfig ? configMapApi(o.kubeConfig) : undefined);
  if (!api) throw new Error('createRunnerHandoff: give kubeConfig or api');
  const sink = new ConfigMapResultSink({
    api,
    name: o.resultConfigMap,
    namespace: o.identity.namespace,
    loadTest: o.identity.loadTest,
    index: o.identity.index,
    ...(o.identity.pod ? { pod: o.identity.pod } : {}),
    onRetry: (error) => o.onRetry?.('result', error),
  });
  return {
    sink,
    async awaitStart(signal) {
      const deadlineMs = Date.now() + o.startTimeoutMs;
      await sink.ready(signal);
      if (!o.startSignal) return undefined;
      const { startAtMs } = await waitForStartSignal({
        api,
        namespace: o.identity.namespace,
        name: o.startSignal,
        deadlineMs,
        ...(signal ? { signal } : {}),
        onRetry: (error) => o.onRetry?.('start', error),
      });
      return startAtMs;
    },
  };
}
