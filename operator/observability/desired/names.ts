/**
 * Names, labels and ownership of everything an ObservabilityStack `<stack>` creates. Every object carries the
 * tracking labels (the stack's name and namespace), so the controller finds its objects in any namespace for
 * pruning and for cleanup on deletion; objects in the stack's own namespace also get a controller
 * ownerReference (garbage collection).
 */
import { createHash } from 'node:crypto';
import type { ObservabilityStack } from '../../../api/observabilitystack.ts';
import { controllerReference, type OwnerReference } from '../../runtime/resources.ts';

export const stackLabelKeys = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
  /** The owning ObservabilityStack's name (at most 63 characters, which the CRD enforces). */
  stack: 'loadlm.dev/observabilitystack',
  /** The owning ObservabilityStack's namespace. */
  stackNamespace: 'loadlm.dev/observabilitystack-namespace',
} as const;

/** Removed only after everything the stack created elsewhere (other namespaces, Grafana) is gone. */
export const stackFinalizer = 'loadlm.dev/observabilitystack-cleanup';

/** Selects the objects made for any stack (and nothing the LoadTest controller makes): what the caches hold. */
export const stackObjectsSelector = `${stackLabelKeys.managedBy}=loadlm-operator,${stackLabelKeys.stack}`;

export type StackComponent = 'scrape' | 'alerts' | 'grafana-datasources' | 'grafana-dashboard';

/** Name, namespace and uid of a stack, which every rendered object needs. */
export interface StackRef {
  name: string;
  namespace: string;
  uid: string;
}

export function stackRef(stack: Pick<ObservabilityStack, 'metadata'>): StackRef {
  const { name, namespace, uid } = stack.metadata;
  if (!name || !namespace || !uid) {
    throw new Error(
      'ObservabilityStack: metadata.name, metadata.namespace and metadata.uid are required to render its objects',
    );
  }
  return { name, namespace, uid };
}

export function stackLabels(ref: StackRef, component: StackComponent): Record<string, string> {
  return {
    [stackLabelKeys.name]: 'loadlm',
    [stackLabelKeys.instance]: ref.name,
    [stackLabelKeys.component]: component,
    [stackLabelKeys.partOf]: 'loadlm',
    [stackLabelKeys.managedBy]: 'loadlm-operator',
    [stackLabelKeys.stack]: ref.name,
    [stackLabelKeys.stackNamespace]: ref.namespace,
  };
}

/** The stack's key (`namespace/name`) from an object's tracking labels, if it has them. */
export function trackedStackKey(labels: Readonly<Record<string, string>> | undefined): string | undefined {
  const name = labels?.[stackLabelKeys.stack];
  const namespace = labels?.[stackLabelKeys.stackNamespace];
  return name && namespace ? `${namespace}/${name}` : undefined;
}

/** A controller ownerReference when `namespace` is the stack's own (cross-namespace owners are not allowed). */
export function ownerReferencesIn(stack: ObservabilityStack, namespace: string): OwnerReference[] {
  return namespace === stack.metadata.namespace ? [controllerReference(stack)] : [];
}

/** `<stack>-vllm`, `<stack>-dcgm`, `<stack>-runners`, `<stack>-app-<app>`. */
export const serviceMonitorName = (stack: string, target: string) => `${stack}-${target}`;
export const extraAppTarget = (app: string) => `app-${app}`;
export const prometheusRuleName = (stack: string) => `${stack}-alerts`;
/** Sidecar mode: the datasource provisioning Secret. */
export const datasourceSecretName = (stack: string) => `${stack}-grafana-datasources`;
/** Sidecar mode: one ConfigMap per dashboard; grafana-operator mode: one GrafanaDashboard per dashboard. */
export const dashboardObjectName = (stack: string, dashboard: string) => `${stack}-dashboard-${dashboard}`;
/** grafana-operator mode: one GrafanaDatasource per datasource, named after its uid. */
export const grafanaDatasourceName = (stack: string, uid: string) => `${stack}-datasource-${kubeNamePart(uid)}`;
/** grafana-operator mode: datasource credentials copied next to the GrafanaDatasources (valuesFrom). */
export const datasourceAuthSecretName = (stack: string) => `${stack}-grafana-datasource-auth`;

/** A short stable hash (hex). */
export function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * `text` as part of a Kubernetes object name (lower-case letters, digits, `-`); a hash suffix keeps two different
 * inputs apart when lower-casing or replacing characters made them equal.
 */
export function kubeNamePart(text: string): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  if (cleaned === text) return cleaned;
  return `${cleaned || 'x'}-${shortHash(text, 6)}`;
}
