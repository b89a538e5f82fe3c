/**
 * grafana-operator v5 mode (grafana.integreatly.org/v1beta1): one GrafanaDatasource per datasource and one
 * GrafanaDashboard per dashboard, selecting Grafana instances with spec.grafana.operator.instanceSelector. The
 * uids are fixed at creation (grafana-operator makes spec.uid immutable) and deterministic.
 *
 * Credentials never go into a GrafanaDatasource (anyone who can read those objects would see them): they are
 * copied into a Secret next to it, and `valuesFrom` makes grafana-operator substitute `${key}` placeholders.
 */
import type { LabelSelector as ApiLabelSelector } from '../../../api/common.ts';
import type { ObservabilityStack } from '../../../api/observabilitystack.ts';
import { baseDatasourceModel, type DatasourcePlan, type ResolvedCredentials } from './datasources.ts';
import type { GrafanaContent } from './grafana-content.ts';
import type { GrafanaDashboardObject, GrafanaDatasourceObject, LabelSelector, Secret } from './kinds.ts';
import {
  dashboardObjectName,
  datasourceAuthSecretName,
  grafanaDatasourceName,
  kubeNamePart,
  ownerReferencesIn,
  stackLabels,
  stackRef,
} from './names.ts';

export function grafanaOperatorNamespace(stack: ObservabilityStack): string {
  return stack.spec.grafana?.operator?.namespace ?? stackRef(stack).namespace;
}

function instanceSelector(stack: ObservabilityStack): LabelSelector {
  const selector: ApiLabelSelector = stack.spec.grafana?.operator?.instanceSelector ?? {};
  return structuredClone(selector) as LabelSelector;
}

/** Keys in the credentials Secret for one datasource. */
export function credentialKeys(uid: string): { token: string; password: string } {
  const part = kubeNamePart(uid);
  return { token: `${part}-token`, password: `${part}-password` };
}

export interface GrafanaOperatorObjects {
  datasources: GrafanaDatasourceObject[];
  dashboards: GrafanaDashboardObject[];
  /** The copied credentials; absent when no datasource needs any. */
  credentials?: Secret;
}

export function renderGrafanaOperatorObjects(
  stack: ObservabilityStack,
  plans: readonly DatasourcePlan[],
  credentials: ReadonlyMap<string, ResolvedCredentials>,
  content: GrafanaContent,
): GrafanaOperatorObjects {
  const ref = stackRef(stack);
  const namespace = grafanaOperatorNamespace(stack);
  const ownerReferences = ownerReferencesIn(stack, namespace);
  const secretName = datasourceAuthSecretName(ref.name);
  const secretData: Record<string, string> = {};

  const datasources = plans.map((plan): GrafanaDatasourceObject => {
    const model = baseDatasourceModel(plan);
    const datasource: GrafanaDatasourceObject['spec']['datasource'] = { ...model };
    const valuesFrom: NonNullable<GrafanaDatasourceObject['spec']['valuesFrom']> = [];
    const values = plan.auth ? credentials.get(plan.uid) : undefined;
    if (plan.auth && !values) throw new Error(`datasource ${plan.name}: credentials were not resolved`);
    if (values) {
      const keys = credentialKeys(plan.uid);
      if ('token' in values) {
        secretData[keys.token] = Buffer.from(values.token).toString('base64');
        datasource.jsonData = { ...datasource.jsonData, httpHeaderName1: 'Authorization' };
        datasource.secureJsonData = { httpHeaderValue1: `Bearer \${${keys.token}}` };
        valuesFrom.push(valueFrom('secureJsonData.httpHeaderValue1', secretName, keys.token));
      } else {
        secretData[keys.password] = Buffer.from(values.password).toString('base64');
        datasource.basicAuth = true;
        datasource.basicAuthUser = values.username;
        datasource.secureJsonData = { basicAuthPassword: `\${${keys.password}}` };
        valuesFrom.push(valueFrom('secureJsonData.basicAuthPassword', secretName, keys.password));
      }
    }
    return {
      apiVersion: 'grafana.integreatly.org/v1beta1',
      kind: 'GrafanaDatasource',
      metadata: {
        name: grafanaDatasourceName(ref.name, plan.uid),
        namespace,
        labels: stackLabels(ref, 'grafana-datasources'),
        ownerReferences,
      },
      spec: {
        instanceSelector: instanceSelector(stack),
        uid: plan.uid,
        datasource,
        ...(valuesFrom.length > 0 ? { valuesFrom } : {}),
      },
    };
  });

  const dashboards = content.dashboards.map(
    (dashboard): GrafanaDashboardObject => ({
      apiVersion: 'grafana.integreatly.org/v1beta1',
      kind: 'GrafanaDashboard',
      metadata: {
        name: dashboardObjectName(ref.name, dashboard.id),
        namespace,
        labels: stackLabels(ref, 'grafana-dashboard'),
        ownerReferences,
      },
      spec: {
        instanceSelector: instanceSelector(stack),
        uid: dashboard.uid,
        folder: content.folder.title,
        json: JSON.stringify(dashboard.model),
      },
    }),
  );

  const out: GrafanaOperatorObjects = { datasources, dashboards };
  if (Object.keys(secretData).length > 0) {
    out.credentials = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: secretName, namespace, labels: stackLabels(ref, 'grafana-datasources'), ownerReferences },
      type: 'Opaque',
      data: secretData,
    };
  }
  return out;
}

function valueFrom(targetPath: string, name: string, key: string) {
  return { targetPath, valueFrom: { secretKeyRef: { name, key } } };
}
