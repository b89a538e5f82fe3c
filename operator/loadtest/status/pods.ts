/** Reading runner pods as a kubelet (or the test pod executor) reports them. */

import type { ContainerStatus, Pod, PodCondition } from '../desired/kube-types.ts';
import { runnerContainerName } from '../desired/names.ts';
import { completionIndexAnnotation } from '../desired/runner-job.ts';

/** The pod's index in the Indexed Job (annotation, or the label Kubernetes ≥ 1.28 adds too). */
export function runnerIndexOf(pod: Pod): number | undefined {
  const text =
    pod.metadata.annotations?.[completionIndexAnnotation] ?? pod.metadata.labels?.[completionIndexAnnotation];
  return text !== undefined && /^(0|[1-9]\d{0,5})$/.test(text) ? Number(text) : undefined;
}

/** One pod per runner index: the newest, since a replaced pod's successor tells the current state. */
export function podsByIndex(pods: readonly Pod[]): Map<number, Pod> {
  const out = new Map<number, Pod>();
  for (const pod of pods) {
    const index = runnerIndexOf(pod);
    if (index === undefined) continue;
    const current = out.get(index);
    if (!current || (pod.metadata.creationTimestamp ?? '') > (current.metadata.creationTimestamp ?? '')) {
      out.set(index, pod);
    }
  }
  return out;
}

export function runnerContainer(pod: Pod): ContainerStatus | undefined {
  const statuses = pod.status?.containerStatuses;
  return statuses?.find((status) => status.name === runnerContainerName) ?? statuses?.[0];
}

export function podCondition(pod: Pod, type: string): PodCondition | undefined {
  return pod.status?.conditions?.find((condition) => condition.type === type);
}

export function isPodTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** `runner 2 (pod lt-runners-2-x7k2p)`. */
export function describeRunner(index: number, pod?: Pod): string {
  return pod ? `runner ${index} (pod ${pod.metadata.name})` : `runner ${index}`;
}

/** A short state for messages: `Pending: ImagePullBackOff`, `Running, not ready`, `Failed: exit code 3`. */
export function podStateText(pod: Pod): string {
  const phase = pod.status?.phase ?? 'Pending';
  const container = runnerContainer(pod);
  const waiting = container?.state?.waiting?.reason;
  const terminated = container?.state?.terminated;
  const scheduled = podCondition(pod, 'PodScheduled');
  if (scheduled?.status === 'False') return `${phase}: ${scheduled.reason ?? 'not scheduled'}`;
  if (!pod.spec?.nodeName && !pod.status?.phase) return 'Pending: not scheduled yet';
  if (waiting) return `${phase}: ${waiting}`;
  if (terminated) return `${phase}: ${terminated.reason ?? 'terminated'}, exit code ${terminated.exitCode}`;
  if (phase === 'Running') return container?.ready ? 'Running' : 'Running, not ready';
  return pod.status?.reason ? `${phase}: ${pod.status.reason}` : phase;
}

/** The last lines of a termination message (with FallbackToLogsOnError: the log tail), for a condition message. */
export function messageTail(text: string | undefined, maxChars = 400): string | undefined {
  if (!text) return undefined;
  const trimmed = text.trim();
  if (trimmed.length <= maxChars) return trimmed;
  return `…${trimmed.slice(trimmed.length - maxChars).replace(/^[^\n]*\n/, '')}`;
}
