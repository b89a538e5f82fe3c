/**
 * Grafana sidecar mode (the grafana and kube-prometheus-stack Helm charts): one Secret labelled
 * `grafana_datasource` holding a `datasources.yaml` provisioning file (a Secret because it may carry datasource
 * credentials), and one ConfigMap per dashboard labelled `grafana_dashboard`, with the folder in the sidecar's
 * folder annotation.
 */
import { stringify } from 'yaml';
import type { GrafanaSidecarSettings, ObservabilityStack } from '../../../api/observabilitystack.ts';
import type { DatasourceModel } from './datasources.ts';
import type { GrafanaContent } from './grafana-content.ts';
import type { ConfigMap, Secret } from './kinds.ts';
import { dashboardObjectName, datasourceSecretName, ownerReferencesIn, stackLabels, stackRef } from './names.ts';

export const datasourcesFileKey = 'datasources.yaml';

export function sidecarSettings(stack: ObservabilityStack): GrafanaSidecarSettings {
  return {
    datasourceLabels: { grafana_datasource: '1' },
    dashboardLabels: { grafana_dashboard: '1' },
    folderAnnotation: 'k8s-sidecar-target-directory',
    ...stack.spec.grafana?.sidecar,
  };
}

export function sidecarNamespace(stack: ObservabilityStack): string {
  return sidecarSettings(stack).namespace ?? stackRef(stack).namespace;
}

/** Grafana's datasource provisioning file (apiVersion 1). */
export function datasourcesFile(models: readonly DatasourceModel[]): string {
  return stringify({
    apiVersion: 1,
    datasources: models.map((model) => ({
      name: model.name,
      uid: model.uid,
      type: model.type,
      access: model.access,
      url: model.url,
      isDefault: model.isDefault,
      editable: false,
      jsonData: model.jsonData,
      ...(model.basicAuth ? { basicAuth: true, basicAuthUser: model.basicAuthUser } : {}),
      ...(model.secureJsonData ? { secureJsonData: model.secureJsonData } : {}),
    })),
  });
}

/** The datasource Secret; absent when there are no datasources. Its data carries credentials. */
export function renderSidecarDatasourceSecret(
  stack: ObservabilityStack,
  models: readonly DatasourceModel[],
): Secret | undefined {
  if (models.length === 0) return undefined;
  const ref = stackRef(stack);
  const namespace = sidecarNamespace(stack);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: datasourceSecretName(ref.name),
      namespace,
      labels: { ...sidecarSettings(stack).datasourceLabels, ...stackLabels(ref, 'grafana-datasources') },
      ownerReferences: ownerReferencesIn(stack, namespace),
    },
    type: 'Opaque',
    data: { [datasourcesFileKey]: Buffer.from(datasourcesFile(models)).toString('base64') },
  };
}

export function renderSidecarDashboards(stack: ObservabilityStack, content: GrafanaContent): ConfigMap[] {
  const ref = stackRef(stack);
  const namespace = sidecarNamespace(stack);
  const settings = sidecarSettings(stack);
  return content.dashboards.map((dashboard) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: dashboardObjectName(ref.name, dashboard.id),
      namespace,
      labels: { ...settings.dashboardLabels, ...stackLabels(ref, 'grafana-dashboard') },
      annotations: { [settings.folderAnnotation]: content.folder.title },
      ownerReferences: ownerReferencesIn(stack, namespace),
    },
    data: { [`${dashboard.id}.json`]: JSON.stringify(dashboard.model) },
  }));
}
