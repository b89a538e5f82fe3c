/** Best-effort core/v1 Events about pods, so `kubectl describe pod` tells what the executor did. */
import { randomBytes } from 'node:crypto';
import type { ApiClient } from '../api-client.ts';
import type { Pod } from './types.ts';

export async function recordPodEvent(
  client: ApiClient,
  pod: Pod,
  source: string,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
): Promise<void> {
  const namespace = pod.metadata.namespace ?? 'default';
  const now = new Date().toISOString();
  await client
    .request('POST', `/api/v1/namespaces/${namespace}/events`, {
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${pod.metadata.name}.${randomBytes(8).toString('hex')}`, namespace },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, namespace, uid: pod.metadata.uid },
        reason,
        message,
        type,
        source: { component: 'loadlm-pod-executor', host: source },
        reportingComponent: 'loadlm-pod-executor',
        reportingInstance: source,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    })
    .catch(() => {});
}
