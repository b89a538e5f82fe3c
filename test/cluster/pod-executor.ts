/**
 * A test-side stand-in for kube-scheduler + kubelet: it registers a Node, binds pending pods that fit it, and
 * runs their containers as local processes (see executor/pod-run.ts), talking to the apiserver only through the
 * API. Images map to local programs (executor/images.ts). Limits, documented:
 * - restartPolicy Never semantics only (OnFailure/Always pods run once, with a Warning event);
 * - no volumes: a container's termination message goes to the file named by $LOADLM_TERMINATION_MESSAGE_PATH,
 *   and API credentials come as $KUBECONFIG (plus in-cluster-style files in the pod directory);
 * - pods get 127.0.N.x addresses (one /24 per executor); Service ClusterIPs do not route anywhere;
 * - resource requests are not accounted against the node when binding.
 *
 * In tests, give each suite its own namespaces and pass them in `namespaces` (each executor then registers its own
 * node), and always `await executor.stop()`: it kills every process it started.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { type Logger, pino } from 'pino';
import { ApiClient, ApiError } from './api-client.ts';
import { recordPodEvent } from './executor/events.ts';
import type { ImageMap, ImageSpec } from './executor/images.ts';
import { type Informer, startInformer } from './executor/informer.ts';
import { IpPool } from './executor/ip-pool.ts';
import { type KubeletServer, startKubeletServer } from './executor/kubelet-server.ts';
import { MemoryWatch } from './executor/memory-watch.ts';
import { deleteNode, hostResources, registerNode } from './executor/node.ts';
import { PodRun, readLog, rfc3339, terminationMessagePathEnv } from './executor/pod-run.ts';
import { Reaper } from './executor/process.ts';
import { podFitsNode } from './executor/scheduling.ts';
import type { NodeInfo, Pod, Taint } from './executor/types.ts';

export type { ImageMap, ImageSpec, Taint };
export { terminationMessagePathEnv };

export interface PodExecutorOptions {
  /** Credentials the executor itself uses (admin); never handed to pods. */
  kubeConfig: KubeConfig;
  /** Image repository (no tag/digest) → the local program standing in for it. */
  images: ImageMap;
  /** Images whose command runs with the host's PATH (`sh -c ...`). Default: busybox. */
  hostImages?: string[];
  /** Namespaces to serve; default all. Pods elsewhere are neither bound nor run. */
  namespaces?: string[];
  /** Default `loadlm-local` when serving all namespaces, else `loadlm-<first namespace>`. */
  nodeName?: string;
  nodeLabels?: Record<string, string>;
  nodeTaints?: Taint[];
  /**
   * TLS certificate and key for the executor's kubelet API on 127.0.0.1, so `kubectl logs` works through the
   * apiserver. The local control plane writes one (kubelet.crt/kubelet.key next to its kubeconfig); without it,
   * logs are only available through `executor.logs()`.
   */
  kubeletServingCert?: { certFile: string; keyFile: string };
  /** Keep pod directories (logs) after stop; default false. */
  keepPodDirs?: boolean;
  /** Debug logs; default pino on stderr at level $LOADLM_EXECUTOR_LOG (silent when unset). */
  logger?: Logger;
}

export interface PodExecutor {
  readonly nodeName: string;
  /** First pod IP block this executor hands out, e.g. `127.0.3.0/24`. */
  readonly podCIDR: string;
  /** Combined stdout+stderr of a pod's containers (one container, or all with headers); '' when unknown. */
  logs(namespace: string, name: string, container?: string): Promise<string>;
  /** The pod's working directory (HOME, TMPDIR, logs, kubeconfig). */
  podDir(namespace: string, name: string): string | undefined;
  /** Kills every process, reports running pods as terminated, deletes the Node. */
  stop(): Promise<void>;
}

const defaultScheduler = 'default-scheduler';

export async function startPodExecutor(options: PodExecutorOptions): Promise<PodExecutor> {
  const logger =
    options.logger ??
    pino({ name: 'pod-executor', level: process.env.LOADLM_EXECUTOR_LOG ?? 'silent' }, pino.destination(2));
  const log = (message: string) => logger.debug(message);
  const client = await ApiClient.fromKubeConfig(options.kubeConfig);
  const cluster = options.kubeConfig.getCurrentCluster();
  const caData = cluster?.caData ?? (cluster?.caFile ? readFileSync(cluster.caFile).toString('base64') : '');
  const namespaces = options.namespaces?.length ? [...new Set(options.namespaces)] : undefined;
  const nodeName = options.nodeName ?? (namespaces ? `loadlm-${namespaces[0]}` : 'loadlm-local');
  const resources = hostResources();
  const ipPool = IpPool.claim();
  const reaper = new Reaper();
  const memoryWatch = new MemoryWatch();
  const baseDir = mkdtempSync(join(tmpdir(), `loadlm-pods-${nodeName}-`));
  const runs = new Map<string, PodRun>();
  /** Pod key → directory, container names and run of the latest run, kept for logs after the pod is gone. */
  const dirs = new Map<string, { dir: string; containers: string[]; run: PodRun }>();
  const finished = new Set<string>();
  const deleting = new Set<string>();
  const queues = new Map<string, Promise<void>>();
  let stopping = false;
  let kubelet: KubeletServer | undefined;
  let informers: Informer<Pod>[] = [];

  /** Releases what start acquired; also the end of stop(). */
  const release = async () => {
    await Promise.all(informers.map((informer) => informer.stop()));
    memoryWatch.stop();
    await kubelet?.close();
    reaper.close();
    ipPool.close();
    await deleteNode(client, nodeName);
    client.close();
    if (!options.keepPodDirs) rmSync(baseDir, { recursive: true, force: true });
  };

  const serialize = (key: string, work: () => Promise<void>) => {
    const next = (queues.get(key) ?? Promise.resolve())
      .then(work)
      .catch((error: unknown) => log(`pod ${key}: ${(error as Error).stack ?? error}`));
    queues.set(key, next);
    void next.finally(() => {
      if (queues.get(key) === next) queues.delete(key);
    });
  };

  const reconcile = async (pod: Pod, node: NodeInfo): Promise<void> => {
    if (stopping) return;
    const uid = pod.metadata.uid ?? '';
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (!pod.spec.nodeName) return schedule(client, pod, node, log);
    if (pod.spec.nodeName !== nodeName) return;
    const run = runs.get(uid);
    if (run) return run.observe(pod);
    const phase = pod.status?.phase;
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    if (pod.metadata.deletionTimestamp) {
      if (!terminal && !finished.has(uid)) await markLost(client, pod, 'the pod was deleted while no process ran it');
      if (!deleting.has(uid) && (pod.metadata.deletionGracePeriodSeconds ?? 0) > 0) {
        deleting.add(uid);
        await deletePodNow(client, pod, log);
      }
      return;
    }
    if (terminal || finished.has(uid)) return;
    if (startedBefore(pod)) {
      finished.add(uid);
      await markLost(client, pod, 'its process was lost: the loadlm pod executor restarted while the pod ran');
      return;
    }
    const dir = join(baseDir, `${pod.metadata.namespace}_${pod.metadata.name}_${uid.slice(0, 8)}`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const started = new PodRun(pod, {
      client,
      nodeName,
      hostIP: '127.0.0.1',
      images: options.images,
      hostImages: options.hostImages ?? ['busybox'],
      ipPool,
      reaper,
      memoryWatch,
      endpoint: { server: cluster?.server ?? '', caData },
      resources,
      podDir: dir,
      log,
    });
    runs.set(uid, started);
    const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => c.name);
    dirs.set(key, { dir, containers, run: started });
    void started.done.finally(() => {
      runs.delete(uid);
      finished.add(uid);
    });
  };

  try {
    if (options.kubeletServingCert) {
      kubelet = await startKubeletServer({
        cert: readFileSync(options.kubeletServingCert.certFile),
        key: readFileSync(options.kubeletServingCert.keyFile),
        find: (namespace, pod, container) => {
          const entry = dirs.get(`${namespace}/${pod}`);
          const state = entry?.run.containerState(container);
          if (!entry || !state) return undefined;
          return {
            path: join(entry.dir, `${container}.log`),
            ...(state.waiting ? { waitingReason: state.waiting.reason ?? 'ContainerCreating' } : {}),
            running: () => entry.run.containerState(container)?.terminated === undefined && runs.has(entry.run.uid),
          };
        },
      });
    }
    const node = await registerNode(client, {
      name: nodeName,
      labels: options.nodeLabels ?? {},
      taints: options.nodeTaints ?? [],
      resources,
      ...(kubelet ? { kubeletPort: kubelet.port } : {}),
    });
    const keyOf = (pod: Pod) => `${pod.metadata.namespace}/${pod.metadata.name}`;
    informers = (namespaces ?? [undefined]).map((namespace) =>
      startInformer<Pod>(client, {
        path: namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods',
        onUpsert: (pod) => serialize(keyOf(pod), () => reconcile(pod, node)),
        onDelete: (pod) =>
          serialize(keyOf(pod), async () => {
            const uid = pod.metadata.uid ?? '';
            runs.get(uid)?.vanish();
            finished.delete(uid);
            deleting.delete(uid);
          }),
        log,
      }),
    );
    const synced = Promise.all(informers.map((informer) => informer.synced));
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('pod executor: listing pods did not succeed within 30s')), 30_000).unref(),
    );
    await Promise.race([synced, timeout]);
  } catch (error) {
    stopping = true;
    await release();
    throw error;
  }
  log(
    `pod executor ${nodeName} serving ${namespaces?.join(',') ?? 'all namespaces'}, pod IPs 127.0.${ipPool.block}.0/24`,
  );

  return {
    nodeName,
    podCIDR: `127.0.${ipPool.block}.0/24`,
    podDir: (namespace, name) => dirs.get(`${namespace}/${name}`)?.dir,
    logs: async (namespace, name, container) => {
      const entry = dirs.get(`${namespace}/${name}`);
      if (!entry) return '';
      if (container) return readLog(join(entry.dir, `${container}.log`));
      const [only] = entry.containers;
      if (entry.containers.length === 1 && only) return readLog(join(entry.dir, `${only}.log`));
      const parts = await Promise.all(
        entry.containers.map(async (n) => `==> ${n} <==\n${await readLog(join(entry.dir, `${n}.log`))}`),
      );
      return parts.join('\n');
    },
    stop: async () => {
      if (stopping) return;
      stopping = true;
      await Promise.all(informers.map((informer) => informer.stop()));
      await Promise.all([...runs.values()].map((run) => run.stop()));
      await Promise.all([...queues.values()]);
      await release();
    },
  };
}

/** Binds a pending pod to the node when it fits, or reports it Unschedulable as kube-scheduler does. */
async function schedule(client: ApiClient, pod: Pod, node: NodeInfo, log: (message: string) => void): Promise<void> {
  if ((pod.spec.schedulerName ?? defaultScheduler) !== defaultScheduler) return;
  if (pod.metadata.deletionTimestamp || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
  const namespace = pod.metadata.namespace ?? 'default';
  const fit = podFitsNode(pod, node);
  if (fit.fits) {
    try {
      await client.request('POST', `/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/binding`, {
        body: {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: pod.metadata.name, namespace, uid: pod.metadata.uid },
          target: { apiVersion: 'v1', kind: 'Node', name: node.name },
        },
      });
      void recordPodEvent(
        client,
        pod,
        node.name,
        'Normal',
        'Scheduled',
        `Successfully assigned ${namespace}/${pod.metadata.name} to ${node.name}`,
      );
    } catch (error) {
      // 409: already bound (e.g. by another executor); 404: deleted meanwhile.
      if (!(error instanceof ApiError && (error.status === 409 || error.status === 404))) throw error;
      log(`binding ${namespace}/${pod.metadata.name}: ${error.message}`);
    }
    return;
  }
  const current = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (current?.status === 'False' && current.reason === 'Unschedulable' && current.message === fit.message) return;
  await client
    .request('PATCH', `/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/status`, {
      contentType: 'application/strategic-merge-patch+json',
      body: {
        metadata: { uid: pod.metadata.uid },
        status: {
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: fit.message,
              lastProbeTime: null,
              lastTransitionTime: rfc3339(new Date()),
            },
          ],
        },
      },
    })
    .catch((error: unknown) =>
      log(`marking ${namespace}/${pod.metadata.name} unschedulable: ${(error as Error).message}`),
    );
  void recordPodEvent(client, pod, node.name, 'Warning', 'FailedScheduling', fit.message);
}

/** A pod that ran (or was about to) under no live process: reported Failed, as for a lost node. */
async function markLost(client: ApiClient, pod: Pod, why: string): Promise<void> {
  const namespace = pod.metadata.namespace ?? 'default';
  const finishedAt = rfc3339(new Date());
  const lost = (statuses: NonNullable<Pod['status']>['containerStatuses']) =>
    statuses?.map((status) =>
      status.state.terminated
        ? status
        : {
            ...status,
            ready: false,
            started: false,
            state: {
              terminated: {
                exitCode: 137,
                reason: 'ContainerStatusUnknown',
                message: 'The container could not be located when the pod was terminated',
                finishedAt,
              },
            },
          },
    );
  await client
    .request('PATCH', `/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/status`, {
      contentType: 'application/strategic-merge-patch+json',
      body: {
        metadata: { uid: pod.metadata.uid },
        status: {
          phase: 'Failed',
          reason: 'ExecutorLost',
          message: `Pod failed: ${why}.`,
          conditions: [
            { type: 'Ready', status: 'False', reason: 'PodFailed', lastTransitionTime: finishedAt },
            { type: 'ContainersReady', status: 'False', reason: 'PodFailed', lastTransitionTime: finishedAt },
          ],
          ...(pod.status?.containerStatuses ? { containerStatuses: lost(pod.status.containerStatuses) } : {}),
        },
      },
    })
    .catch(() => {});
}

async function deletePodNow(client: ApiClient, pod: Pod, log: (message: string) => void): Promise<void> {
  await client
    .request('DELETE', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, {
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata.uid },
      },
    })
    .catch((error: unknown) => {
      if (!(error instanceof ApiError && (error.status === 404 || error.status === 409))) {
        log(`deleting ${pod.metadata.namespace}/${pod.metadata.name}: ${(error as Error).message}`);
      }
    });
}

/** Whether a previous executor instance had started this pod's containers. */
function startedBefore(pod: Pod): boolean {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].some(
    (status) => status.state.running !== undefined || status.state.terminated !== undefined,
  );
}
