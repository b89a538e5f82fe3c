/**
 * What the ObservabilityStack controller keeps of each cached object (informer transforms). Its own objects are
 * only ever compared with what it renders, so their bulky values are kept as digests: dashboard JSON (ConfigMap
 * data, GrafanaDashboard spec.json). Secrets are not cached at all (owned-secrets.ts).
 * managedFields are slimmed to what `needsApply` reads. The same transform is applied to desired objects before
 * comparing (`cachedAs`), so it must work on rendered objects as well as on the apiserver's. Prometheus objects
 * are read for their four selectors only.
 */
import type { ObservabilityStack } from '../../api/observabilitystack.ts';
import type { ObjectTransform } from '../runtime/informer.ts';
import type { KubeObject } from '../runtime/resources.ts';
import { digestValues, slimManagedFields, withoutAnnotations, withoutManagedFields } from '../runtime/transforms.ts';
import type { Prometheus } from './desired/kinds.ts';

const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

export function cachedStack(stack: ObservabilityStack): ObservabilityStack {
  return withoutAnnotations(withoutManagedFields(stack), [lastAppliedAnnotation]);
}

/** Our ServiceMonitors, PrometheusRules, ConfigMaps and grafana-operator objects. */
export const cachedOwnedObject: ObjectTransform = (object: KubeObject): KubeObject => {
  const slim = slimManagedFields(object) as KubeObject & { data?: Record<string, string>; spec?: unknown };
  const out: KubeObject & { data?: Record<string, string>; spec?: unknown } = { ...slim };
  if (slim.data && typeof slim.data === 'object') out.data = digestValues(slim.data);
  const spec = slim.spec as { json?: unknown } | undefined;
  if (slim.kind === 'GrafanaDashboard' && spec && typeof spec.json === 'string') {
    out.spec = { ...spec, json: digestValues({ json: spec.json }).json };
  }
  return out;
};

/** A Prometheus object's identity and the four selectors that decide what it selects. */
export const cachedPrometheus: ObjectTransform = (object: KubeObject): KubeObject => {
  const { metadata = {}, spec } = object as Prometheus;
  // Identity only: kubectl's last-applied annotation alone can be the size of the whole spec.
  const { name, namespace, uid, resourceVersion, ownerReferences } = metadata;
  const slim: Prometheus = { metadata: { name, namespace, uid, resourceVersion, ownerReferences } };
  if (spec) {
    slim.spec = {};
    for (const key of [
      'serviceMonitorSelector',
      'serviceMonitorNamespaceSelector',
      'ruleSelector',
      'ruleNamespaceSelector',
    ] as const) {
      if (spec[key] !== undefined) slim.spec[key] = spec[key];
    }
  }
  return slim;
};
