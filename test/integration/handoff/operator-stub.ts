/**
 * The operator's side of the hand-off for these tests, built from the pure functions only: apply rendered
 * objects with server-side apply as `loadlm-operator`, and read back what the reconcile reads (pods, Job,
 * result ConfigMaps, start signal) as raw JSON.
 */

import type { KubeObject, ObservedJob, Pod } from '../../../operator/loadtest/desired/kube-types.ts';
import { labelKeys, selectorString } from '../../../operator/loadtest/desired/names.ts';
import {
  type ConfigMapObject,
  type DecodedResult,
  decodeResultConfigMap,
  parseStartSignal,
  type StartSignal,
} from '../../../runner/handoff/protocol.ts';
import type { ApiClient } from '../../cluster/index.ts';

const paths: Record<string, string> = {
  'v1/ConfigMap': '/api/v1/namespaces/NS/configmaps',
  'v1/Service': '/api/v1/namespaces/NS/services',
  'v1/ServiceAccount': '/api/v1/namespaces/NS/serviceaccounts',
  'rbac.authorization.k8s.io/v1/Role': '/apis/rbac.authorization.k8s.io/v1/namespaces/NS/roles',
  'rbac.authorization.k8s.io/v1/RoleBinding': '/apis/rbac.authorization.k8s.io/v1/namespaces/NS/rolebindings',
  'batch/v1/Job': '/apis/batch/v1/namespaces/NS/jobs',
  'loadlm.dev/v1alpha1/LoadTest': '/apis/loadlm.dev/v1alpha1/namespaces/NS/loadtests',
};

export function objectPath(object: KubeObject, name = object.metadata?.name): string {
  const base = paths[`${object.apiVersion}/${object.kind}`];
  const namespace = object.metadata?.namespace;
  if (!base || !namespace || !name) throw new Error(`no path for ${object.apiVersion} ${object.kind} ${name}`);
  return `${base.replace('NS', namespace)}/${name}`;
}

/** Server-side apply, as the operator's Applier does. */
export function apply<T extends KubeObject>(
  client: ApiClient,
  object: T,
  options: { fieldManager?: string; dryRun?: boolean } = {},
): Promise<T> {
  return client.request<T>('PATCH', objectPath(object), {
    contentType: 'application/apply-patch+yaml',
    query: {
      fieldManager: options.fieldManager ?? 'loadlm-operator',
      force: true,
      ...(options.dryRun ? { dryRun: 'All' } : {}),
    },
    body: object,
  });
}

export interface Observed {
  pods: Pod[];
  job: ObservedJob | undefined;
  results: DecodedResult[];
  resultConfigMaps: ConfigMapObject[];
  startSignal: StartSignal | undefined;
}

export async function observe(client: ApiClient, namespace: string, lt: string, jobName: string): Promise<Observed> {
  const selector = selectorString({ [labelKeys.loadTest]: lt, [labelKeys.component]: 'runner' });
  const [pods, configMaps, job] = await Promise.all([
    client.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${namespace}/pods`, {
      query: { labelSelector: selector },
    }),
    client.request<{ items: ConfigMapObject[] }>('GET', `/api/v1/namespaces/${namespace}/configmaps`, {
      query: { labelSelector: selector },
    }),
    client.request<ObservedJob>('GET', `/apis/batch/v1/namespaces/${namespace}/jobs/${jobName}`).catch(() => undefined),
  ]);
  const resultConfigMaps = configMaps.items.filter((cm) => cm.metadata.labels?.[labelKeys.result] === 'true');
  const start = configMaps.items.find((cm) => cm.metadata.name === `${lt}-start`);
  return {
    pods: pods.items,
    job,
    results: resultConfigMaps.map(decodeResultConfigMap),
    resultConfigMaps,
    startSignal: start ? parseStartSignal(start) : undefined,
  };
}
