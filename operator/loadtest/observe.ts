/**
 * What one reconcile sees of a LoadTest's children, read from the informers' caches only (no API calls):
 * the runner Job, its pods, the runner result ConfigMaps (decoded, untrusted) and the start signal.
 */
import type { LoadTest } from '../../api/loadtest.ts';
import { type ConfigMapObject, type DecodedResult, decodeResultConfigMap } from '../../runner/handoff/protocol.ts';
import type { Informer } from '../runtime/informer.ts';
import type { KubeObject } from '../runtime/resources.ts';
import type { ConfigMap, ObservedJob, Pod } from './desired/kube-types.ts';
import { labelKeys, runnerJobName, startSignalName } from './desired/names.ts';
import { expectedRunners } from './desired/plan.ts';

/** The informers the LoadTest controller reads (all label-selected to the operator's own objects). */
export interface LoadTestCaches {
  loadTests: Informer<LoadTest>;
  jobs: Informer<ObservedJob>;
  pods: Informer<Pod>;
  configMaps: Informer<ConfigMap>;
  services: Informer<KubeObject>;
  serviceAccounts: Informer<KubeObject>;
  roles: Informer<KubeObject>;
  roleBindings: Informer<KubeObject>;
}

export interface Observed {
  job: Readonly<ObservedJob> | undefined;
  pods: Readonly<Pod>[];
  results: DecodedResult[];
  startSignal: Readonly<ConfigMap> | undefined;
}

export function observe(caches: LoadTestCaches, lt: Readonly<LoadTest>): Observed {
  const namespace = lt.metadata.namespace ?? '';
  const name = lt.metadata.name ?? '';
  const ownedByThis = (object: KubeObject) =>
    object.metadata?.labels?.[labelKeys.loadTest] === name &&
    (object.metadata?.ownerReferences ?? []).some((reference) => reference.uid === lt.metadata.uid);
  const cachedJob = caches.jobs.get(namespace, runnerJobName(name, expectedRunners(lt).count));
  const job = cachedJob && ownedByThis(cachedJob) ? cachedJob : undefined;
  // Through the owner index, not a scan of the namespace: a reconcile costs the same with 1 or 1,000 LoadTests.
  // Without the Job, its pods can only be found by label (the Job deleted with its pods orphaned).
  const candidates = job?.metadata.uid ? caches.pods.byOwner(job.metadata.uid) : caches.pods.list(namespace);
  const pods = candidates.filter(
    (pod) =>
      pod.metadata.namespace === namespace &&
      pod.metadata.labels?.[labelKeys.loadTest] === name &&
      !pod.metadata.deletionTimestamp,
  );
  const results = caches.configMaps
    .byOwner(lt.metadata.uid ?? '')
    .filter(
      (configMap) =>
        configMap.metadata.namespace === namespace &&
        configMap.metadata.labels?.[labelKeys.result] === 'true' &&
        ownedByThis(configMap),
    )
    .map((configMap) => decodeResultConfigMap(configMap as unknown as ConfigMapObject));
  const startSignal = caches.configMaps.get(namespace, startSignalName(name));
  return { job, pods, results, startSignal };
}

export function jobCondition(job: Readonly<ObservedJob> | undefined, type: string) {
  return job?.status?.conditions?.find((condition) => condition.type === type && condition.status === 'True');
}
