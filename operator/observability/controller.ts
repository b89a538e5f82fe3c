/**
 * Registers the ObservabilityStack controller on a Manager. Its own objects are cached through label-selected
 * informers (managed-by loadlm-operator and a tracking label, so no LoadTest object is cached twice), slimmed by
 * cache-transforms.ts. Events on them reach the owning stack through the tracking labels — also for
 * objects in other namespaces, which cannot have an ownerReference. prometheus-operator's and grafana-operator's
 * kinds are watched from the moment they are found to be installed (optional-kinds.ts).
 *
 * Secrets are not watched at all (RBAC cannot limit list/watch to a label, so a Secret informer would mean
 * reading every Secret): the stack's own are handled by name (owned-secrets.ts), the credential Secrets it names
 * are read at each pass. A change to either is picked up on the next pass: a spec change, a retry
 * (`retryAfterMs` while a Secret or key is missing), the Grafana check in mode api, or the manager's resync.
 */
import type { ObservabilityStack } from '../../api/observabilitystack.ts';
import type { Controller } from '../runtime/controller.ts';
import type { Informer } from '../runtime/informer.ts';
import type { Manager } from '../runtime/manager.ts';
import { type KubeObject, resources } from '../runtime/resources.ts';
import { cachedOwnedObject, cachedPrometheus, cachedStack } from './cache-transforms.ts';
import { stackObjectsSelector, stackResources, trackedStackKey } from './desired/index.ts';
import { createGrafanaApiClient } from './grafana/api-client.ts';
import type { GrafanaApiFactory } from './grafana-api-mode.ts';
import { OptionalKinds } from './optional-kinds.ts';
import { observabilityStackReconciler, type StackCaches } from './reconcile.ts';

export interface ObservabilityStackControllerOptions {
  /** Namespaces the operator watches (empty: all); the runners' ServiceMonitor scrapes these by default. */
  watchedNamespaces: readonly string[];
  maxConcurrentReconciles?: number;
  /** Default: the Grafana HTTP API client (operator/observability/grafana/). */
  grafanaApi?: GrafanaApiFactory;
  /** How soon a stack waiting on something outside (CRDs, Secrets, Grafana) is looked at again; default 30 s. */
  retryAfterMs?: number;
  /** How long an API discovery answer (is prometheus-operator installed?) is reused; default 30 s. */
  discoveryTtlMs?: number;
  /** How often Grafana is checked for drift in mode api; default 5 min. */
  grafanaResyncMs?: number;
}

const trackedKeys = (object: Readonly<KubeObject>): string[] => {
  const key = trackedStackKey(object.metadata?.labels);
  return key ? [key] : [];
};

export function registerObservabilityStackController(
  manager: Manager,
  options: ObservabilityStackControllerOptions,
): { controller: Controller<ObservabilityStack>; caches: StackCaches } {
  const selected = { labelSelector: stackObjectsSelector, transform: cachedOwnedObject };
  const caches: StackCaches = {
    stacks: manager.informer<ObservabilityStack>(resources.observabilityStacks, { transform: cachedStack }),
    configMaps: manager.informer<KubeObject>(resources.configMaps, selected),
  };
  // Assigned below; the informers created later route their events through it.
  let controller: Controller<ObservabilityStack> | undefined;
  const enqueueAll = () => {
    for (const key of caches.stacks.keys()) controller?.enqueue(key);
  };
  const optional = new OptionalKinds({
    client: manager.client,
    informer: (resource, spec) => manager.informer(resource, spec),
    ownedSelector: stackObjectsSelector,
    ownedTransform: cachedOwnedObject,
    readTransform: cachedPrometheus,
    logger: manager.logger.child({ controller: 'observabilitystack' }),
    ...(options.discoveryTtlMs !== undefined ? { discoveryTtlMs: options.discoveryTtlMs } : {}),
    onInformer: (resource, informer: Informer) => {
      // A Prometheus object's selectors decide every stack's NoMatchingPrometheus.
      const map =
        resource.plural === stackResources.prometheuses.plural
          ? () => {
              enqueueAll();
              return [];
            }
          : trackedKeys;
      const route = (object: Readonly<KubeObject>) => {
        for (const key of map(object)) controller?.enqueue(key);
      };
      informer.addHandler({ onAdd: route, onUpdate: (_old, object) => route(object), onDelete: route });
    },
  });
  const reconcile = observabilityStackReconciler({
    caches,
    optional,
    client: manager.client,
    applier: manager.applier,
    events: manager.events,
    watchedNamespaces: options.watchedNamespaces,
    grafanaApi: options.grafanaApi ?? ((settings) => createGrafanaApiClient(settings)),
    ...(options.retryAfterMs !== undefined ? { retryAfterMs: options.retryAfterMs } : {}),
    ...(options.grafanaResyncMs !== undefined ? { grafanaResyncMs: options.grafanaResyncMs } : {}),
  });
  controller = manager.addController<ObservabilityStack>({
    name: 'observabilitystack',
    for: caches.stacks,
    watches: [{ informer: caches.configMaps, map: trackedKeys }],
    maxConcurrentReconciles: options.maxConcurrentReconciles ?? 2,
    reconcile,
  });
  return { controller, caches };
}
