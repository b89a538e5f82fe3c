/** The Node object the executor stands behind: created or updated at start, Ready, deleted at stop. */
import { cpus, totalmem } from 'node:os';
import { type ApiClient, ApiError } from '../api-client.ts';
import type { NodeInfo, Taint } from './types.ts';

export interface NodeResources {
  cpu: number;
  memory: number;
  'ephemeral-storage': number;
}

export function hostResources(): NodeResources {
  return { cpu: cpus().length, memory: totalmem(), 'ephemeral-storage': 100 * 2 ** 30 };
}

export async function registerNode(
  client: ApiClient,
  options: {
    name: string;
    labels: Record<string, string>;
    taints: Taint[];
    resources: NodeResources;
    /** Port of the executor's kubelet API on 127.0.0.1 (for `kubectl logs`), if it serves one. */
    kubeletPort?: number;
  },
): Promise<NodeInfo> {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const labels = {
    'kubernetes.io/hostname': options.name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': arch,
    'loadlm.dev/pod-executor': 'true',
    ...options.labels,
  };
  const path = `/api/v1/nodes/${options.name}`;
  const metadata = { name: options.name, labels };
  const spec = { taints: options.taints.length > 0 ? options.taints : null };
  try {
    await client.request('POST', '/api/v1/nodes', { body: { apiVersion: 'v1', kind: 'Node', metadata, spec } });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 409)) throw error;
    await client.request('PATCH', path, {
      body: { metadata: { labels }, spec },
      contentType: 'application/merge-patch+json',
    });
  }
  const now = new Date().toISOString();
  const quantity = {
    cpu: String(options.resources.cpu),
    memory: `${Math.floor(options.resources.memory / 1024)}Ki`,
    'ephemeral-storage': `${Math.floor(options.resources['ephemeral-storage'] / 1024)}Ki`,
    pods: '250',
  };
  const condition = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  });
  await client.request('PATCH', `${path}/status`, {
    contentType: 'application/merge-patch+json',
    body: {
      status: {
        capacity: quantity,
        allocatable: quantity,
        // No Hostname address: the apiserver would resolve it through DNS to reach the kubelet API.
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        daemonEndpoints: { kubeletEndpoint: { Port: options.kubeletPort ?? 0 } },
        conditions: [
          condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'loadlm pod executor'),
          condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'loadlm pod executor'),
          condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'loadlm pod executor'),
          condition('Ready', 'True', 'KubeletReady', 'loadlm pod executor is running pods as local processes'),
        ],
        nodeInfo: {
          operatingSystem: 'linux',
          architecture: arch,
          kubeletVersion: 'loadlm-pod-executor',
          kubeProxyVersion: '',
          containerRuntimeVersion: 'loadlm://local-process',
          osImage: 'host',
          kernelVersion: '',
          machineID: '',
          systemUUID: '',
          bootID: '',
        },
      },
    },
  });
  return { name: options.name, labels, taints: options.taints };
}

export async function deleteNode(client: ApiClient, name: string): Promise<void> {
  await client.request('DELETE', `/api/v1/nodes/${name}`, { timeoutMs: 5_000 }).catch(() => {});
}
