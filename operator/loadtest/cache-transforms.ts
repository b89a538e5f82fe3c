/**
 * What the LoadTest controller keeps of each cached object (informer transforms). With 1,000 LoadTests the
 * caches hold ~9,000 objects, and most of their bytes are managedFields, pod specs and Job templates that no
 * reconcile reads. Kept:
 * - LoadTest: everything but managedFields and kubectl's last-applied copy of the spec;
 * - Pod: metadata without managedFields, and of spec/status the fields typed in `Pod` (desired/kube-types.ts),
 *   which are those status/ reads. A field read there must be added here too (the unit test compares the
 *   status functions on full and transformed pods);
 * - Job: no pod template (immutable, and covered by the applied-hash), otherwise as is; managedFields slimmed
 *   to what `needsApply` reads. The same goes for Services, RBAC objects and ConfigMaps;
 * - ConfigMap: data of runner results and the start signal as is; the runner config and the report, which
 *   nothing reads back, as digests (an apply still sees a changed runner config: see `cachedAs`).
 * Each transform is also applied to desired objects before comparing (Applier.applyIfChanged `cachedAs`), so
 * it must work on rendered objects as well as on the apiserver's.
 */
import type { LoadTest } from '../../api/loadtest.ts';
import type { KubeObject } from '../runtime/resources.ts';
import { digestValues, slimManagedFields, withoutAnnotations, withoutManagedFields } from '../runtime/transforms.ts';
import type { ConfigMap, ContainerStatus, ObservedJob, Pod } from './desired/kube-types.ts';
import { labelKeys, runnerConfigName } from './desired/names.ts';

const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

export function cachedLoadTest(lt: LoadTest): LoadTest {
  return withoutAnnotations(withoutManagedFields(lt), [lastAppliedAnnotation]);
}

export function cachedPod(pod: Pod): Pod {
  const { spec, status } = pod;
  const slim: Pod = { ...withoutManagedFields(pod) };
  if (spec) {
    slim.spec = {
      ...(spec.nodeName !== undefined ? { nodeName: spec.nodeName } : {}),
      ...(spec.containers
        ? {
            containers: spec.containers.map((container) => ({
              name: container.name,
              ...(container.image !== undefined ? { image: container.image } : {}),
              ...(container.resources?.limits ? { resources: { limits: container.resources.limits } } : {}),
            })),
          }
        : {}),
    };
  }
  if (status) {
    slim.status = defined({
      phase: status.phase,
      reason: status.reason,
      message: status.message,
      conditions: status.conditions,
      containerStatuses: status.containerStatuses?.map(cachedContainerStatus),
      podIP: status.podIP,
      startTime: status.startTime,
    });
  }
  return slim;
}

function cachedContainerStatus(status: ContainerStatus): ContainerStatus {
  return defined({
    name: status.name,
    ready: status.ready,
    restartCount: status.restartCount,
    image: status.image,
    started: status.started,
    state: status.state,
    lastState: status.lastState,
  }) as ContainerStatus;
}

export function cachedJob(job: ObservedJob): ObservedJob {
  const slim = slimManagedFields(job);
  if (!slim.spec || !('template' in slim.spec)) return slim;
  const { template: _template, ...spec } = slim.spec as ObservedJob['spec'] & { template?: unknown };
  return { ...slim, spec };
}

export function cachedConfigMap(configMap: ConfigMap): ConfigMap {
  const slim = slimManagedFields(configMap);
  if (!onlyCompared(slim)) return slim;
  return {
    ...slim,
    ...(slim.data ? { data: digestValues(slim.data) } : {}),
    ...(slim.binaryData ? { binaryData: digestValues(slim.binaryData) } : {}),
  };
}

/** Services, ServiceAccounts, Roles, RoleBindings: small, but their managedFields are not. */
export function cachedOwnedObject<T extends KubeObject>(object: T): T {
  return slimManagedFields(object);
}

/** The runner config and the report: the controller writes them and never reads their data back. */
function onlyCompared(configMap: ConfigMap): boolean {
  const labels = configMap.metadata?.labels ?? {};
  if (labels[labelKeys.component] === 'report') return true;
  const loadTest = labels[labelKeys.loadTest];
  return loadTest !== undefined && configMap.metadata?.name === runnerConfigName(loadTest);
}

function defined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}
