/**
 * The Prometheus datasources of a stack, shared by all three Grafana modes: spec.grafana.datasources plus the
 * cluster's own Prometheus (prometheus.url). Each has a deterministic uid, so every mode upserts the same
 * datasource and a re-apply never duplicates it.
 *
 * Planning is pure and secret-free (`planDatasources`); credentials are read at reconcile time and only joined in
 * by `datasourceModels`, whose output must go to a Secret or to Grafana, never to a ConfigMap, status, an Event
 * or a log.
 */
import type { Datasource, EnvironmentLabels, GrafanaCredentials, ObservabilityStack } from '../../../api/index.ts';
import type { GrafanaDatasourceModel } from '../grafana/types.ts';
import { shortHash } from './names.ts';

/** Grafana's limit for uids. */
export const maxGrafanaUidLength = 40;

/** A datasource as Grafana's API and provisioning files take it. */
export type DatasourceModel = GrafanaDatasourceModel;

/** What one datasource will be, without secret values. */
export interface DatasourcePlan {
  uid: string;
  name: string;
  url: string;
  isDefault: boolean;
  /** Where its credentials come from (a Secret in the stack's namespace), if it needs any. */
  auth?: GrafanaCredentials;
}

/** Secret values for one datasource, read at reconcile time. */
export type ResolvedCredentials = { token: string } | { username: string; password: string };

/**
 * `<environment>-<cluster>-prometheus` from the labels (the parts that are set), else the name; letters, digits,
 * `-` and `_` only, at most 40 characters (a hash keeps long ones unique).
 */
export function datasourceUid(labels: EnvironmentLabels | undefined, name: string): string {
  const parts = [labels?.name, labels?.cluster].filter((part): part is string => Boolean(part));
  const base = parts.length > 0 ? `${parts.join('-')}-prometheus` : name;
  const cleaned = base.replace(/[^a-zA-Z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'prometheus';
  if (cleaned === base && cleaned.length <= maxGrafanaUidLength) return cleaned;
  return `${cleaned.slice(0, maxGrafanaUidLength - 9)}-${shortHash(base)}`;
}

/** The local Prometheus's datasource name: `prometheus-<cluster>` (or environment). */
export function localDatasourceName(environment: EnvironmentLabels): string {
  return `prometheus-${environment.cluster ?? environment.name ?? 'local'}`;
}

export function planDatasources(stack: ObservabilityStack): DatasourcePlan[] {
  const listed: DatasourcePlan[] = (stack.spec.grafana?.datasources ?? []).map((datasource: Datasource) => ({
    uid: datasource.uid ?? datasourceUid(datasource.labels, datasource.name),
    name: datasource.name,
    url: datasource.url,
    isDefault: datasource.isDefault,
    ...(datasource.authSecretRef ? { auth: datasource.authSecretRef } : {}),
  }));
  const url = stack.spec.prometheus.url;
  if (url === undefined) return listed;
  const environment = stack.spec.environment;
  const local: DatasourcePlan = {
    uid: datasourceUid(environment, localDatasourceName(environment)),
    name: localDatasourceName(environment),
    url,
    isDefault: !listed.some((datasource) => datasource.isDefault),
  };
  // A listed datasource with the same uid or name is the same Prometheus, described explicitly: it wins.
  if (listed.some((datasource) => datasource.uid === local.uid || datasource.name === local.name)) return listed;
  return [local, ...listed];
}

/** Datasource uids that occur more than once (two listed datasources that derive the same uid). */
export function duplicateUids(plans: readonly DatasourcePlan[]): string[] {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const plan of plans) {
    if (seen.has(plan.uid)) duplicates.add(plan.uid);
    seen.add(plan.uid);
  }
  return [...duplicates];
}

/** The model without credentials: what every mode starts from. */
export function baseDatasourceModel(plan: DatasourcePlan): DatasourceModel {
  return {
    uid: plan.uid,
    name: plan.name,
    type: 'prometheus',
    url: plan.url,
    access: 'proxy',
    isDefault: plan.isDefault,
    jsonData: { httpMethod: 'POST' },
  };
}

/**
 * Full models with credentials joined in: a token becomes an `Authorization: Bearer` header, a user name and
 * password become basic auth. `credentials` maps uid → values for every plan that has `auth`.
 */
export function datasourceModels(
  plans: readonly DatasourcePlan[],
  credentials: ReadonlyMap<string, ResolvedCredentials>,
): DatasourceModel[] {
  return plans.map((plan) => {
    const model = baseDatasourceModel(plan);
    if (!plan.auth) return model;
    const values = credentials.get(plan.uid);
    if (!values) throw new Error(`datasource ${plan.name}: credentials were not resolved`);
    if ('token' in values) {
      return {
        ...model,
        jsonData: { ...model.jsonData, httpHeaderName1: 'Authorization' },
        secureJsonData: { httpHeaderValue1: `Bearer ${values.token}` },
      };
    }
    return {
      ...model,
      basicAuth: true,
      basicAuthUser: values.username,
      secureJsonData: { basicAuthPassword: values.password },
    };
  });
}
