/**
 * What a test needs from a running cluster: where it is, kubectl and a client-node KubeConfig for it, and
 * namespaces of its own. Shared by the cluster a process started itself (startCluster) and the one the global
 * setup started (fromEnv).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { type KubectlOptions, type KubectlResult, runKubectl } from './kubectl.ts';
import { type PodExecutor, type PodExecutorOptions, startPodExecutor } from './pod-executor.ts';

export interface ClusterHandle {
  readonly kubeconfigPath: string;
  readonly server: string;
  readonly kubectlPath: string;
  /** A fresh KubeConfig with admin credentials (token in system:masters). */
  kubeConfig(): KubeConfig;
  /** Rejects with a KubectlError (code, stdout, stderr) on a non-zero exit unless `allowFailure`. */
  kubectl(args: string[], options?: KubectlOptions): Promise<KubectlResult>;
  /**
   * Creates `<prefix>-<random>` and waits until its `default` ServiceAccount exists (pods can be created).
   * Deleted by `stop()` unless deleted before.
   */
  createNamespace(prefix: string, options?: { labels?: Record<string, string> }): Promise<string>;
  /** Deletes a namespace without waiting for its contents to go. */
  deleteNamespace(name: string): Promise<void>;
  /** A pod executor for this cluster; pass the suite's namespaces. Stop it before the cluster. */
  startPodExecutor(options: Omit<PodExecutorOptions, 'kubeConfig'>): Promise<PodExecutor>;
  /** Env vars that let child processes reach this cluster through `fromEnv()`. */
  env(): Record<string, string>;
  /** Deletes the namespaces this handle created (and, for a cluster this process started, stops it). */
  stop(): Promise<void>;
}

export const envNames = {
  kubeconfig: 'LOADLM_TEST_KUBECONFIG',
  kubectl: 'LOADLM_TEST_KUBECTL',
  server: 'LOADLM_TEST_SERVER',
} as const;

export class ClusterClient implements ClusterHandle {
  readonly kubeconfigPath: string;
  readonly server: string;
  readonly kubectlPath: string;
  private readonly namespaces = new Set<string>();

  constructor(kubeconfigPath: string, server: string, kubectlPath: string) {
    this.kubeconfigPath = kubeconfigPath;
    this.server = server;
    this.kubectlPath = kubectlPath;
  }

  kubeConfig(): KubeConfig {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(this.kubeconfigPath);
    return kubeConfig;
  }

  kubectl(args: string[], options: KubectlOptions = {}): Promise<KubectlResult> {
    return runKubectl(this.kubectlPath, this.kubeconfigPath, args, options);
  }

  async createNamespace(prefix: string, options: { labels?: Record<string, string> } = {}): Promise<string> {
    const base =
      prefix
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 50) || 'test';
    const name = `${base}-${randomBytes(3).toString('hex')}`;
    const core = this.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespace({
      body: { metadata: { name, labels: { 'loadlm.dev/test': 'true', ...options.labels } } },
    });
    this.namespaces.add(name);
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await core.readNamespacedServiceAccount({ name: 'default', namespace: name });
        return name;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`namespace ${name}: the default ServiceAccount did not appear within 30s: ${error}`);
        }
        await sleep(100);
      }
    }
  }

  async deleteNamespace(name: string): Promise<void> {
    this.namespaces.delete(name);
    const core = this.kubeConfig().makeApiClient(CoreV1Api);
    await core.deleteNamespace({ name }).catch((error: { code?: number }) => {
      if (error.code !== 404) throw error;
    });
  }

  startPodExecutor(options: Omit<PodExecutorOptions, 'kubeConfig'>): Promise<PodExecutor> {
    // The local control plane leaves a kubelet serving certificate next to its kubeconfig.
    const certFile = join(dirname(this.kubeconfigPath), 'kubelet.crt');
    const keyFile = join(dirname(this.kubeconfigPath), 'kubelet.key');
    const kubeletServingCert = existsSync(certFile) && existsSync(keyFile) ? { certFile, keyFile } : undefined;
    return startPodExecutor({
      ...(kubeletServingCert ? { kubeletServingCert } : {}),
      ...options,
      kubeConfig: this.kubeConfig(),
    });
  }

  env(): Record<string, string> {
    return {
      [envNames.kubeconfig]: this.kubeconfigPath,
      [envNames.kubectl]: this.kubectlPath,
      [envNames.server]: this.server,
    };
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.namespaces].map((name) => this.deleteNamespace(name)));
  }
}

/**
 * The cluster the test run's global setup started (test/global-setup.ts), or any cluster named by
 * LOADLM_TEST_KUBECONFIG and LOADLM_TEST_KUBECTL (e.g. from `npm run cluster:up`).
 */
export function fromEnv(): ClusterHandle {
  const kubeconfigPath = process.env[envNames.kubeconfig];
  const kubectlPath = process.env[envNames.kubectl];
  if (!kubeconfigPath || !kubectlPath) {
    throw new Error(
      `no test cluster: ${envNames.kubeconfig} and ${envNames.kubectl} are not set. Run integration tests through ` +
        '`npm test` / `npm run test:integration` (node --test --test-global-setup=test/global-setup.ts), or start ' +
        'one with `npm run cluster:up` and export the variables it prints.',
    );
  }
  let server = process.env[envNames.server];
  if (!server) {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    server = kubeConfig.getCurrentCluster()?.server ?? '';
  }
  return new ClusterClient(kubeconfigPath, server, kubectlPath);
}
