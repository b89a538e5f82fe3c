/**
 * The third-party kinds an ObservabilityStack creates or reads (prometheus-operator's monitoring.coreos.com/v1,
 * grafana-operator's grafana.integreatly.org/v1beta1) as resource types and as the wire shapes of the fields we
 * use. Objects from the apiserver carry more.
 */
import type { KubeObject, ObjectMeta, OwnerReference, ResourceType } from '../../runtime/resources.ts';

export const monitoringGroup = 'monitoring.coreos.com';
export const grafanaOperatorGroup = 'grafana.integreatly.org';

export const stackResources = {
  serviceMonitors: {
    group: monitoringGroup,
    version: 'v1',
    plural: 'servicemonitors',
    kind: 'ServiceMonitor',
    namespaced: true,
  },
  prometheusRules: {
    group: monitoringGroup,
    version: 'v1',
    plural: 'prometheusrules',
    kind: 'PrometheusRule',
    namespaced: true,
  },
  prometheuses: { group: monitoringGroup, version: 'v1', plural: 'prometheuses', kind: 'Prometheus', namespaced: true },
  grafanaDatasources: {
    group: grafanaOperatorGroup,
    version: 'v1beta1',
    plural: 'grafanadatasources',
    kind: 'GrafanaDatasource',
    namespaced: true,
  },
  grafanaDashboards: {
    group: grafanaOperatorGroup,
    version: 'v1beta1',
    plural: 'grafanadashboards',
    kind: 'GrafanaDashboard',
    namespaced: true,
  },
} as const satisfies Record<string, ResourceType>;

/** metadata with the fields a rendered object always has. */
export interface RenderedMeta extends ObjectMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences: OwnerReference[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export interface RelabelConfig {
  action?: string;
  sourceLabels?: string[];
  regex?: string;
  targetLabel?: string;
  replacement?: string;
}

export interface ServiceMonitorEndpoint {
  port: string;
  path: string;
  interval: string;
  scrapeTimeout?: string;
  relabelings: RelabelConfig[];
}

export interface ServiceMonitor extends KubeObject {
  apiVersion: 'monitoring.coreos.com/v1';
  kind: 'ServiceMonitor';
  metadata: RenderedMeta;
  spec: {
    jobLabel?: string;
    selector: LabelSelector;
    namespaceSelector: { any?: boolean; matchNames?: string[] };
    endpoints: ServiceMonitorEndpoint[];
  };
}

export interface PrometheusRule extends KubeObject {
  apiVersion: 'monitoring.coreos.com/v1';
  kind: 'PrometheusRule';
  metadata: RenderedMeta;
  spec: {
    groups: {
      name: string;
      interval?: string;
      rules: {
        alert?: string;
        record?: string;
        expr: string;
        for?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
      }[];
    }[];
  };
}

/** The part of a Prometheus object (prometheus-operator) that decides what it selects. */
export interface Prometheus extends KubeObject {
  spec?: {
    serviceMonitorSelector?: LabelSelector | null;
    serviceMonitorNamespaceSelector?: LabelSelector | null;
    ruleSelector?: LabelSelector | null;
    ruleNamespaceSelector?: LabelSelector | null;
  };
}

export interface Secret extends KubeObject {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: RenderedMeta;
  type: 'Opaque';
  data: Record<string, string>;
}

export interface ConfigMap extends KubeObject {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: RenderedMeta;
  data: Record<string, string>;
}

export interface GrafanaDatasourceObject extends KubeObject {
  apiVersion: 'grafana.integreatly.org/v1beta1';
  kind: 'GrafanaDatasource';
  metadata: RenderedMeta;
  spec: {
    instanceSelector: LabelSelector;
    uid: string;
    datasource: {
      uid: string;
      name: string;
      type: 'prometheus';
      access: 'proxy';
      url: string;
      isDefault: boolean;
      jsonData: Record<string, unknown>;
      basicAuth?: boolean;
      basicAuthUser?: string;
      secureJsonData?: Record<string, string>;
    };
    valuesFrom?: { targetPath: string; valueFrom: { secretKeyRef: { name: string; key: string } } }[];
  };
}

export interface GrafanaDashboardObject extends KubeObject {
  apiVersion: 'grafana.integreatly.org/v1beta1';
  kind: 'GrafanaDashboard';
  metadata: RenderedMeta;
  spec: {
    instanceSelector: LabelSelector;
    uid: string;
    folder: string;
    json: string;
  };
}
