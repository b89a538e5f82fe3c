/**
 * Runs loadlm-operator in-process against the test cluster, and a pod executor that runs the real runner
 * (`ghcr.io/loadlm/loadlm` → `node runner/main.ts`) for the given namespaces.
 */
import type { OperatorConfig } from '../../operator/config.ts';
import { type RunningOperator, startOperator } from '../../operator/main.ts';
import { connectionFromKubeconfig } from '../../operator/runtime/kube-config.ts';
import { createLogger, type Logger, silentLogger } from '../../operator/runtime/logger.ts';
import {
  type ClusterHandle,
  defaultImages,
  envNames,
  type ImageMap,
  type PodExecutor,
  runnerImage,
} from '../cluster/index.ts';

/** Operator logs go to stderr with LOADLM_TEST_LOG=debug (or info, ...); silent otherwise. */
export function operatorTestLogger(name = 'operator-test'): Logger {
  const level = process.env.LOADLM_TEST_LOG;
  return level ? createLogger({ level, name, destination: process.stderr }) : silentLogger();
}

export interface TestOperatorOptions {
  namespaces: string[];
  /** The Lease lives in the first namespace unless set; `false` turns leader election off. */
  leaderElectionNamespace?: string | false;
  progressIntervalMs?: number;
  /** Runner /metrics linger after the run; default 1 s so Jobs complete quickly. */
  runnerLingerSeconds?: number;
  /**
   * Reach the apiserver at this URL instead of the kubeconfig's (same TLS and credentials), e.g. a TCP proxy
   * from test/support/tcp-proxy.ts that a test cuts to drop the operator's connections.
   */
  server?: string;
}

export async function startTestOperator(
  cluster: ClusterHandle,
  options: TestOperatorOptions,
): Promise<RunningOperator> {
  const kubeconfig = cluster.env()[envNames.kubeconfig];
  if (!kubeconfig) throw new Error(`${envNames.kubeconfig} is not set`);
  const config: OperatorConfig = {
    namespaces: options.namespaces,
    runnerImage: `${runnerImage}:test`,
    leaderElectionNamespace:
      options.leaderElectionNamespace === undefined
        ? (options.namespaces[0] ?? false)
        : options.leaderElectionNamespace,
    leaderElectionName: 'loadlm-operator',
    httpPort: 0,
    httpHost: '127.0.0.1',
    logLevel: process.env.LOADLM_TEST_LOG ?? 'info',
    maxConcurrentReconciles: 2,
    progressIntervalMs: options.progressIntervalMs ?? 2_000,
    runnerLingerSeconds: options.runnerLingerSeconds ?? 1,
  };
  const connection = await connectionFromKubeconfig(kubeconfig);
  return startOperator(config, {
    connection: options.server ? { ...connection, server: options.server } : connection,
    logger: operatorTestLogger(),
  });
}

/**
 * A pod executor running loadlm's runner image as `node runner/main.ts` for these namespaces, plus `extraImages`
 * (e.g. a test-only runner image that misbehaves on purpose, named by a LoadTest's spec.runner.image).
 */
export function startRunnerExecutor(
  cluster: ClusterHandle,
  namespaces: string[],
  extraImages: ImageMap = {},
): Promise<PodExecutor> {
  return cluster.startPodExecutor({ images: { ...defaultImages(), ...extraImages }, namespaces });
}
