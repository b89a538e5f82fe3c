/**
 * Global setup for `node --test --test-global-setup=test/global-setup.ts`: one local control plane for the whole
 * run. Its location goes into process.env before any test file starts, and the runner's test-file subprocesses
 * inherit it; test files reach it with `fromEnv()` from test/cluster/index.ts.
 *
 * When LOADLM_TEST_KUBECONFIG and LOADLM_TEST_KUBECTL are already set (e.g. to a cluster from
 * `npm run cluster:up`), that cluster is used and nothing is started.
 */
import { envNames } from './cluster/cluster-handle.ts';
import { type LocalCluster, startCluster } from './cluster/controlplane.ts';

let cluster: LocalCluster | undefined;

export async function globalSetup(): Promise<void> {
  if (process.env[envNames.kubeconfig] && process.env[envNames.kubectl]) {
    process.stderr.write(`test cluster: using ${process.env[envNames.kubeconfig]}\n`);
    return;
  }
  const started = Date.now();
  cluster = await startCluster();
  Object.assign(process.env, cluster.env());
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stderr.write(`test cluster: Kubernetes ${cluster.version} at ${cluster.server}, ready in ${seconds}s\n`);
}

export async function globalTeardown(): Promise<void> {
  await cluster?.stop();
  cluster = undefined;
}
