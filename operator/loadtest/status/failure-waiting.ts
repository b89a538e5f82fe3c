/**
 * Runner pods that cannot start: Unschedulable, image pull problems (ImagePullBackOff, InvalidImageName) and
 * container configuration errors (a missing Secret, key or ConfigMap). Some heal on their own (a Secret created a
 * little later, an autoscaler adding a node), so each comes with the grace period it gets from the pod's creation.
 */
import type { LoadTest } from '../../../api/loadtest.ts';
import type { Pod } from '../desired/kube-types.ts';
import type { FailureDetectionOptions } from './failure-types.ts';
import { describeRunner, podCondition, runnerContainer } from './pods.ts';

export interface WaitingProblem {
  reason: string;
  message: string;
  permanent: boolean;
  sinceMs: number;
  graceSeconds: number;
}

/** What keeps a pod from running, if anything; `permanent` problems fail at once, others after `graceSeconds`. */
export function waitingProblem(
  index: number,
  pod: Pod,
  lt: LoadTest,
  o: Required<FailureDetectionOptions>,
): WaitingProblem | undefined {
  const who = describeRunner(index, pod);
  const created = Date.parse(pod.metadata.creationTimestamp ?? '');
  const scheduled = podCondition(pod, 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    const since = Date.parse(scheduled.lastTransitionTime ?? '') || created;
    return {
      reason: 'Unschedulable',
      message:
        `${who} cannot be scheduled: ${scheduled.message ?? 'no node fits'}. Check spec.runner.nodeSelector, ` +
        'spec.runner.tolerations and spec.runner.resources.requests against the nodes',
      permanent: false,
      sinceMs: since,
      graceSeconds: o.unschedulableGraceSeconds,
    };
  }
  const container = runnerContainer(pod);
  const waiting = container?.state?.waiting;
  if (!waiting?.reason) return undefined;
  const image = container?.image ?? pod.spec?.containers?.[0]?.image ?? '?';
  switch (waiting.reason) {
    case 'InvalidImageName':
    case 'ErrImageNeverPull':
      return {
        reason: waiting.reason === 'InvalidImageName' ? 'InvalidImageName' : 'ImagePullBackOff',
        message: `${who}: image "${image}" cannot be used: ${waiting.message ?? waiting.reason}. Check spec.runner.image and spec.runner.imagePullPolicy`,
        permanent: true,
        sinceMs: created,
        graceSeconds: 0,
      };
    case 'ErrImagePull':
    case 'ImagePullBackOff':
    case 'RegistryUnavailable':
    case 'SignatureValidationFailed':
      return {
        reason: 'ImagePullBackOff',
        message:
          `${who}: cannot pull image "${image}": ${waiting.message ?? waiting.reason}. Check spec.runner.image ` +
          "(or the operator's runner image) and spec.runner.imagePullSecrets",
        permanent: false,
        sinceMs: created,
        graceSeconds: o.imagePullGraceSeconds,
      };
    case 'CreateContainerConfigError':
      return {
        ...configError(who, waiting.message ?? '', lt),
        permanent: false,
        sinceMs: created,
        graceSeconds: o.configErrorGraceSeconds,
      };
    case 'CreateContainerError':
    case 'RunContainerError':
      return {
        reason: 'RunnerFailed',
        message: `${who}: the container could not be created: ${waiting.message ?? waiting.reason}`,
        permanent: false,
        sinceMs: created,
        graceSeconds: o.configErrorGraceSeconds,
      };
    default:
      return undefined;
  }
}

/** The kubelet's CreateContainerConfigError messages, tied back to the spec field that caused them. */
function configError(who: string, message: string, lt: LoadTest): { reason: string; message: string } {
  const namespace = lt.metadata.namespace ?? '';
  const secretMissing = /^secret "([^"]+)" not found/.exec(message);
  const secretKey = /^couldn't find key (\S+) in Secret [^/\s]+\/(\S+)/.exec(message);
  const configMapMissing = /^configmap "([^"]+)" not found/.exec(message);
  const configMapKey = /^couldn't find key (\S+) in ConfigMap [^/\s]+\/(\S+)/.exec(message);
  const fieldOfSecret = (name: string) =>
    lt.spec.targets
      .map((target, i) => (target.apiKeySecretRef?.name === name ? `spec.targets[${i}].apiKeySecretRef` : undefined))
      .filter(Boolean)
      .join(', ') || 'spec.runner.env';
  if (secretMissing?.[1]) {
    return {
      reason: 'SecretNotFound',
      message: `${who}: Secret ${namespace}/${secretMissing[1]} (${fieldOfSecret(secretMissing[1])}) does not exist: create it, or fix the reference in a new LoadTest`,
    };
  }
  if (secretKey?.[1] && secretKey[2]) {
    return {
      reason: 'SecretKeyNotFound',
      message: `${who}: Secret ${namespace}/${secretKey[2]} (${fieldOfSecret(secretKey[2])}) has no key "${secretKey[1]}"`,
    };
  }
  if (configMapMissing?.[1] || configMapKey?.[2]) {
    const name = configMapMissing?.[1] ?? configMapKey?.[2] ?? '';
    return {
      reason: configMapMissing ? 'ConfigMapNotFound' : 'ConfigMapKeyNotFound',
      message: `${who}: ConfigMap ${namespace}/${name}: ${message} (the runner config is made by the operator; was it deleted?)`,
    };
  }
  return {
    reason: 'CreateContainerConfigError',
    message: `${who}: ${message || 'the container could not be configured'}`,
  };
}
