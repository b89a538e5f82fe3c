/**
 * Names and labels of everything the operator makes for a LoadTest `<lt>` (at most 52 characters, which the
 * CRD enforces), and its ownerReference. Labels come from the runner/operator contract
 * (runner/handoff/protocol.ts), so the runner labels its result ConfigMap exactly as the operator does.
 */
import type { LoadTest } from '../../../api/loadtest.ts';
import { labelKeys, loadTestLabels, resultLabels } from '../../../runner/handoff/protocol.ts';
import { controllerReference } from '../../runtime/resources.ts';
import type { OwnerReference } from './kube-types.ts';

export { labelKeys };

export const runnerContainerName = 'runner';
export const metricsPortName = 'metrics';
export const metricsPort = 9090;
export const runnerConfigKey = 'config.yaml';
export const reportKey = 'report.json';
export const reportGzipKey = 'report.json.gz';

/** Name, namespace and uid of a LoadTest, which every rendered object needs. */
export interface LoadTestRef {
  name: string;
  namespace: string;
  uid: string;
}

export function loadTestRef(lt: Pick<LoadTest, 'metadata'>): LoadTestRef {
  const { name, namespace, uid } = lt.metadata;
  if (!name || !namespace || !uid) {
    throw new Error('LoadTest: metadata.name, metadata.namespace and metadata.uid are required to render its objects');
  }
  return { name, namespace, uid };
}

/** `<lt>-runner-config`: the runner's YAML config (no secrets). */
export const runnerConfigName = (lt: string) => `${lt}-runner-config`;
/** `<lt>-runners`: the headless Service in front of the runners' /metrics. */
export const runnerServiceName = (lt: string) => `${lt}-runners`;
/** `<lt>-runner`: ServiceAccount, Role and RoleBinding of the runner pods. */
export const runnerServiceAccountName = (lt: string) => `${lt}-runner`;
export const runnerRoleName = runnerServiceAccountName;
/** `<lt>-start`: the start signal (written once all runners are ready). */
export const startSignalName = (lt: string) => `${lt}-start`;
/** `<lt>-result-<index>`: runner `index`'s results (`index` may be a `$(VAR)` reference in Job args). */
export const resultConfigMapName = (lt: string, index: number | string) => `${lt}-result-${index}`;
/** `<lt>-report`: the merged report (status.reportRef); kept after cleanup. */
export const reportConfigMapName = (lt: string) => `${lt}-report`;

/**
 * `<lt>-runners`, the Indexed Job. Its pods' hostnames are `<job>-<index>` and must stay a DNS label (≤ 63
 * characters, which the apiserver checks at creation); a 52-character LoadTest with more than 100 runners
 * would exceed that, so it gets `<lt>-run` instead. Deterministic: the spec (and so the count) is immutable.
 */
export function runnerJobName(lt: string, runners: number): string {
  const maxIndexDigits = String(Math.max(0, runners - 1)).length;
  const full = `${lt}-runners`;
  return full.length + 1 + maxIndexDigits <= 63 ? full : `${lt}-run`;
}

/** Labels of the runner objects (Job, pods, Service, config, RBAC, start signal, results). */
export function runnerLabels(lt: string): Record<string, string> {
  return loadTestLabels(lt, 'runner');
}

export function reportLabels(lt: string): Record<string, string> {
  return loadTestLabels(lt, 'report');
}

export { resultLabels };

/** Selects the runner pods of one LoadTest (Service selector; also a label selector for listing pods). */
export function runnerPodSelector(lt: string): Record<string, string> {
  return { [labelKeys.loadTest]: lt, [labelKeys.component]: 'runner' };
}

/** `key=value,...` form of a label map, for list/watch requests. */
export function selectorString(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** The LoadTest as controller owner: children are garbage-collected with it. */
export function ownerReference(lt: Pick<LoadTest, 'apiVersion' | 'kind' | 'metadata'>): OwnerReference {
  return controllerReference(lt);
}
