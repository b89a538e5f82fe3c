/**
 * Registers the LoadTest controller on a Manager: label-selected informers for the kinds it owns (so only the
 * operator's objects are cached), event mapping to the owning LoadTest, and the reconciler.
 */
import type { LoadTest } from '../../api/loadtest.ts';
import type { Controller } from '../runtime/controller.ts';
import type { Informer } from '../runtime/informer.ts';
import type { Manager } from '../runtime/manager.ts';
import { type KubeObject, resources } from '../runtime/resources.ts';
import { cachedConfigMap, cachedJob, cachedLoadTest, cachedOwnedObject, cachedPod } from './cache-transforms.ts';
import { labelKeys, type RunnerTimings } from './desired/index.ts';
import type { ConfigMap, ObservedJob, Pod } from './desired/kube-types.ts';
import type { LoadTestCaches } from './observe.ts';
import { loadTestReconciler } from './reconcile.ts';

/** Every object the operator makes carries this label (runner/handoff/protocol.ts loadTestLabels). */
export const managedBySelector = `${labelKeys.managedBy}=loadlm-operator`;

export interface LoadTestControllerOptions {
  runnerImage: string;
  runnerLogLevel?: string;
  timings?: Partial<RunnerTimings>;
  progressIntervalMs?: number;
  maxConcurrentReconciles?: number;
}

export function registerLoadTestController(
  manager: Manager,
  options: LoadTestControllerOptions,
): { controller: Controller<LoadTest>; caches: LoadTestCaches } {
  // Each cache keeps only what the controller reads (cache-transforms.ts).
  const selected = <T extends KubeObject>(transform: (object: T) => T) => ({
    labelSelector: managedBySelector,
    transform,
  });
  const owned = selected<KubeObject>(cachedOwnedObject);
  const caches: LoadTestCaches = {
    loadTests: manager.informer<LoadTest>(resources.loadTests, { transform: cachedLoadTest }),
    jobs: manager.informer<ObservedJob>(resources.jobs, selected(cachedJob)),
    pods: manager.informer<Pod>(resources.pods, selected(cachedPod)),
    configMaps: manager.informer<ConfigMap>(resources.configMaps, selected(cachedConfigMap)),
    services: manager.informer<KubeObject>(resources.services, owned),
    serviceAccounts: manager.informer<KubeObject>(resources.serviceAccounts, owned),
    roles: manager.informer<KubeObject>(resources.roles, owned),
    roleBindings: manager.informer<KubeObject>(resources.roleBindings, owned),
  };
  const reconcile = loadTestReconciler({
    caches,
    client: manager.client,
    applier: manager.applier,
    events: manager.events,
    runnerImage: options.runnerImage,
    ...(options.runnerLogLevel ? { runnerLogLevel: options.runnerLogLevel } : {}),
    ...(options.timings ? { timings: options.timings } : {}),
    ...(options.progressIntervalMs ? { progressIntervalMs: options.progressIntervalMs } : {}),
  });
  const controller = manager.addController<LoadTest>({
    name: 'loadtest',
    for: caches.loadTests,
    // Jobs, ConfigMaps (results, start signal), Services and RBAC have the LoadTest as controller owner.
    owns: [caches.jobs, caches.configMaps, caches.services] as unknown as Informer[],
    // Pods are owned by the Job: map them through the LoadTest label.
    watches: [
      {
        informer: caches.pods as unknown as Informer,
        map: (pod: Readonly<KubeObject>) => {
          const lt = pod.metadata?.labels?.[labelKeys.loadTest];
          return lt && pod.metadata?.namespace ? [`${pod.metadata.namespace}/${lt}`] : [];
        },
      },
    ],
    maxConcurrentReconciles: options.maxConcurrentReconciles ?? 4,
    reconcile,
  });
  return { controller, caches };
}
