/**
 * ObservabilityStack (loadlm.dev/v1alpha1): one per cluster. Wires vLLM, DCGM, runner and app metrics into the
 * cluster's Prometheus with environment labels, and provisions datasources, dashboards and alerts in Grafana.
 * Unlike a LoadTest it is a long-lived configuration object: its spec may change and is reconciled continuously.
 */
import { z } from 'zod';
import {
  conditionList,
  Dns1123Label,
  EnvironmentLabels,
  int,
  LabelSelector,
  labelMap,
  listMap,
  listSet,
  NamespacedObjectReference,
  ObjectMeta,
  ObjectName,
  portNamePattern,
  seconds,
} from './common.ts';
import { group, observabilityStackNames, version } from './crd-meta.ts';
import { type CrdValidationRule, type ValidationRule, withRules } from './rules.ts';

const httpUrl = z
  .string()
  .min(1)
  .max(2048)
  .regex(/^https?:\/\/[^\s/]+[^\s]*$/, { error: 'expected an http:// or https:// URL' });

// ----------------------------------------------------------------------------------------------- prometheus

export const PrometheusSettings = z
  .strictObject({
    serviceMonitorLabels: labelMap()
      .optional()
      .describe(
        'Labels put on every ServiceMonitor so that Prometheus selects it. kube-prometheus-stack selects ' +
          '`release: <helm release name>` by default (e.g. `{release: kube-prometheus-stack}`).',
      ),
    ruleLabels: labelMap()
      .optional()
      .describe('Labels put on the PrometheusRule so that Prometheus selects it. Default: serviceMonitorLabels.'),
    prometheusRef: NamespacedObjectReference.optional().describe(
      'The monitoring.coreos.com Prometheus object that should scrape us. Its serviceMonitorSelector and ruleSelector ' +
        'are checked against the labels above and a mismatch is reported as a condition. Default: every Prometheus ' +
        'object found.',
    ),
    namespace: Dns1123Label.optional().describe(
      "Namespace for the ServiceMonitors and the PrometheusRule. Default: this object's namespace.",
    ),
    url: httpUrl
      .optional()
      .describe(
        "This cluster's Prometheus as Grafana reaches it (e.g. `http://kube-prometheus-stack-prometheus.monitoring:9090`). " +
          'When set, a datasource for it is provisioned too (uid `<environment>-<cluster>-prometheus`).',
      ),
  })
  .describe('How ServiceMonitors and rules get picked up by the Prometheus of this cluster.');
export type PrometheusSettings = z.infer<typeof PrometheusSettings>;

// -------------------------------------------------------------------------------------------------- scrape

const scrapeFields = {
  selector: LabelSelector.describe('Selects the Services to scrape.'),
  namespaces: z
    .array(Dns1123Label)
    .max(32)
    .optional()
    .describe("Namespaces of those Services. Default: this object's namespace."),
  port: z
    .string()
    .min(1)
    .max(15)
    .regex(portNamePattern, { error: 'expected a Service port name' })
    .describe('Name of the Service port serving metrics.'),
  path: z
    .string()
    .max(256)
    .regex(/^\/[^\s]*$/, { error: 'expected a path starting with "/"' })
    .default('/metrics')
    .describe('HTTP path of the metrics.'),
  intervalSeconds: seconds(1, 3600).default(15).describe('Scrape interval.'),
  scrapeTimeoutSeconds: seconds(1, 3600)
    .optional()
    .describe('Scrape timeout; at most intervalSeconds. Default: Prometheus default.'),
};

const timeoutRule = {
  rule: '!has(self.scrapeTimeoutSeconds) || self.scrapeTimeoutSeconds <= self.intervalSeconds',
  message: 'scrapeTimeoutSeconds must not exceed intervalSeconds',
  fieldPath: '.scrapeTimeoutSeconds',
  check: (self: { scrapeTimeoutSeconds?: number | undefined; intervalSeconds: number }) =>
    self.scrapeTimeoutSeconds === undefined || self.scrapeTimeoutSeconds <= self.intervalSeconds,
};

/** A set of Services to scrape (becomes a ServiceMonitor). */
export const ScrapeTarget = withRules(
  z.strictObject(scrapeFields).describe('Services to scrape, as a ServiceMonitor.'),
  [timeoutRule],
);
export type ScrapeTarget = z.infer<typeof ScrapeTarget>;

export const ExtraApp = withRules(
  z
    .strictObject({
      name: Dns1123Label.describe('Name of the app; names its ServiceMonitor and becomes the `job` label.'),
      ...scrapeFields,
    })
    .describe('Another backend to scrape, e.g. a RAG backend on port 8000.'),
  [timeoutRule],
);
export type ExtraApp = z.infer<typeof ExtraApp>;

export const RunnerScrape = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Scrape the metrics Services of loadlm runners automatically.'),
    intervalSeconds: seconds(1, 3600).default(15).describe('Scrape interval.'),
    namespaces: z
      .array(Dns1123Label)
      .max(32)
      .optional()
      .describe(
        'Namespaces whose LoadTests are scraped. Default: the namespaces the operator watches (any namespace when ' +
          'it watches all).',
      ),
  })
  .describe('Scraping of loadlm runners (client-side load-test metrics).');
export type RunnerScrape = z.infer<typeof RunnerScrape>;

export const ScrapeSettings = z
  .strictObject({
    vllm: ScrapeTarget.optional().describe(
      'vLLM servers (server-side latency, queue depth, KV cache). Absent: not scraped.',
    ),
    dcgm: ScrapeTarget.optional().describe(
      'NVIDIA DCGM exporter (GPU utilization, memory, power). Absent: not scraped.',
    ),
    runners: RunnerScrape.prefault({}),
    extraApps: listMap(z.array(ExtraApp).max(16), 'name').optional().describe('Other backends to scrape.'),
  })
  .describe('What to scrape. Every scraped series gets the environment labels through relabelings.');
export type ScrapeSettings = z.infer<typeof ScrapeSettings>;

// ------------------------------------------------------------------------------------------------- grafana

export const GrafanaCredentialsObject = z
  .strictObject({
    name: ObjectName.describe('Name of the Secret, in the same namespace as this object.'),
    tokenKey: z.string().min(1).max(253).optional().describe('Key holding a bearer token (service account token).'),
    usernameKey: z.string().min(1).max(253).optional().describe('Key holding the basic-auth user name.'),
    passwordKey: z.string().min(1).max(253).optional().describe('Key holding the basic-auth password.'),
  })
  .describe('A Secret with credentials: either a bearer token (tokenKey) or basic auth (usernameKey and passwordKey).');
export const grafanaCredentialsRules: ValidationRule<z.output<typeof GrafanaCredentialsObject>>[] = [
  {
    rule: 'has(self.tokenKey) != (has(self.usernameKey) && has(self.passwordKey))',
    message: 'set either tokenKey or both usernameKey and passwordKey',
    check: (self) =>
      (self.tokenKey !== undefined) !== (self.usernameKey !== undefined && self.passwordKey !== undefined),
  },
  {
    rule: 'has(self.usernameKey) == has(self.passwordKey)',
    message: 'usernameKey and passwordKey must be set together',
    fieldPath: '.passwordKey',
    check: (self) => (self.usernameKey !== undefined) === (self.passwordKey !== undefined),
  },
];
export const GrafanaCredentials = withRules(GrafanaCredentialsObject, grafanaCredentialsRules);
export type GrafanaCredentials = z.infer<typeof GrafanaCredentials>;

export const GrafanaSidecarSettings = z
  .strictObject({
    namespace: Dns1123Label.optional().describe(
      "Namespace the Grafana sidecar watches, for the datasource Secret and dashboard ConfigMaps. Default: this object's namespace.",
    ),
    datasourceLabels: labelMap()
      .default({ grafana_datasource: '1' })
      .describe('Labels that make the sidecar load the datasource Secret. Default `{grafana_datasource: "1"}`.'),
    dashboardLabels: labelMap()
      .default({ grafana_dashboard: '1' })
      .describe('Labels that make the sidecar load the dashboard ConfigMaps. Default `{grafana_dashboard: "1"}`.'),
    folderAnnotation: z
      .string()
      .min(1)
      .max(316)
      .default('k8s-sidecar-target-directory')
      .describe('Annotation the sidecar reads the dashboard folder from.'),
  })
  .describe('Provisioning through the Grafana Helm chart sidecar (labelled Secrets and ConfigMaps).');
export type GrafanaSidecarSettings = z.infer<typeof GrafanaSidecarSettings>;

export const GrafanaOperatorSettings = z
  .strictObject({
    instanceSelector: LabelSelector.describe(
      'Selects the Grafana instances (grafana.integreatly.org Grafana objects).',
    ),
    namespace: Dns1123Label.optional().describe(
      "Namespace for the GrafanaDatasource and GrafanaDashboard objects. Default: this object's namespace.",
    ),
  })
  .describe('Provisioning through grafana-operator v5 (GrafanaDatasource and GrafanaDashboard objects).');
export type GrafanaOperatorSettings = z.infer<typeof GrafanaOperatorSettings>;

export const GrafanaApiSettings = z
  .strictObject({
    url: httpUrl.describe('Base URL of Grafana, e.g. `https://grafana.example.com`.'),
    credentialsSecretRef: GrafanaCredentials.describe('Credentials for the Grafana HTTP API.'),
    orgId: int(1, 2_147_483_647)
      .optional()
      .describe("Grafana organization id. Default: the credentials' organization."),
  })
  .describe(
    'Provisioning through the Grafana HTTP API: objects are upserted by deterministic uid and deleted by a finalizer.',
  );
export type GrafanaApiSettings = z.infer<typeof GrafanaApiSettings>;

export const Datasource = z
  .strictObject({
    name: z.string().min(1).max(190).describe('Datasource name shown in Grafana, e.g. `prometheus-staging`.'),
    uid: z
      .string()
      .min(1)
      .max(40)
      .regex(/^[a-zA-Z0-9_-]+$/, { error: 'expected letters, digits, "-" or "_"' })
      .optional()
      .describe('Datasource uid. Default: derived from the labels (`<environment>-<cluster>-prometheus`) or the name.'),
    url: httpUrl.describe('URL of the Prometheus (or Prometheus-compatible) endpoint.'),
    isDefault: z.boolean().default(false).describe('Make this the default datasource. At most one may be.'),
    labels: EnvironmentLabels.optional().describe(
      'Environment labels of the cluster behind this datasource (dashboards use them to tell clusters apart).',
    ),
    authSecretRef: GrafanaCredentials.optional().describe('Credentials for the endpoint, if it needs any.'),
  })
  .describe('A Prometheus datasource, typically one per cluster.');
export type Datasource = z.infer<typeof Datasource>;

export const builtInDashboards = ['loadtest-overview', 'vllm', 'gpu', 'benchmark-comparison', 'rag-overview'] as const;

export const DashboardSettings = z
  .strictObject({
    builtIn: listSet(z.array(z.enum(builtInDashboards)).max(16))
      .default([...builtInDashboards])
      .describe(
        'Built-in dashboards to install: `loadtest-overview`, `vllm`, `gpu`, `benchmark-comparison`, `rag-overview`. ' +
          'Default: all. An empty list installs none.',
      ),
    folder: z.string().min(1).max(128).default('LoadLM').describe('Grafana folder of the dashboards.'),
  })
  .describe('Dashboards to install.');
export type DashboardSettings = z.infer<typeof DashboardSettings>;

export const grafanaModes = ['sidecar', 'operator', 'api'] as const;

export const GrafanaSettingsObject = z
  .strictObject({
    mode: z
      .enum(grafanaModes)
      .describe(
        'How Grafana is provisioned: `sidecar` (labelled Secret and ConfigMaps), `operator` (grafana-operator objects) or ' +
          '`api` (Grafana HTTP API).',
      ),
    sidecar: GrafanaSidecarSettings.optional().describe('Settings for mode sidecar (all optional).'),
    operator: GrafanaOperatorSettings.optional().describe('Settings for mode operator. Required in that mode.'),
    api: GrafanaApiSettings.optional().describe('Settings for mode api. Required in that mode.'),
    datasources: listMap(z.array(Datasource).max(32), 'name')
      .optional()
      .describe(
        'Prometheus datasources to provision, e.g. one per cluster for a central Grafana. The local one from prometheus.url is added automatically.',
      ),
    dashboards: DashboardSettings.prefault({}),
  })
  .describe('Grafana provisioning: datasources and dashboards.');
export const grafanaSettingsRules: ValidationRule<z.output<typeof GrafanaSettingsObject>>[] = [
  {
    rule: "self.mode != 'operator' || has(self.operator)",
    message: 'operator is required when mode is operator',
    fieldPath: '.operator',
    reason: 'FieldValueRequired',
    check: (self) => self.mode !== 'operator' || self.operator !== undefined,
  },
  {
    rule: "self.mode == 'operator' || !has(self.operator)",
    message: 'operator is only allowed when mode is operator',
    fieldPath: '.operator',
    reason: 'FieldValueForbidden',
    check: (self) => self.mode === 'operator' || self.operator === undefined,
  },
  {
    rule: "self.mode != 'api' || has(self.api)",
    message: 'api is required when mode is api',
    fieldPath: '.api',
    reason: 'FieldValueRequired',
    check: (self) => self.mode !== 'api' || self.api !== undefined,
  },
  {
    rule: "self.mode == 'api' || !has(self.api)",
    message: 'api is only allowed when mode is api',
    fieldPath: '.api',
    reason: 'FieldValueForbidden',
    check: (self) => self.mode === 'api' || self.api === undefined,
  },
  {
    rule: "self.mode == 'sidecar' || !has(self.sidecar)",
    message: 'sidecar is only allowed when mode is sidecar',
    fieldPath: '.sidecar',
    reason: 'FieldValueForbidden',
    check: (self) => self.mode === 'sidecar' || self.sidecar === undefined,
  },
  {
    rule: '!has(self.datasources) || self.datasources.filter(d, d.isDefault).size() <= 1',
    message: 'at most one datasource may set isDefault',
    fieldPath: '.datasources',
    check: (self) => (self.datasources ?? []).filter((datasource) => datasource.isDefault).length <= 1,
  },
];
export const GrafanaSettings = withRules(GrafanaSettingsObject, grafanaSettingsRules);
export type GrafanaSettings = z.infer<typeof GrafanaSettings>;

// -------------------------------------------------------------------------------------------------- alerts

export const AlertSettings = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Create the PrometheusRule.'),
    ttftP95Milliseconds: int(1, 3_600_000)
      .default(1000)
      .describe('Alert when the 95th percentile time to first token exceeds this.'),
    errorRatePercent: int(1, 100).default(5).describe('Alert when the request error rate exceeds this percentage.'),
    gpuMemoryPercent: int(1, 100).default(90).describe('Alert when GPU framebuffer use exceeds this percentage.'),
    forSeconds: seconds(0, 86400).default(300).describe('How long a condition must hold before the alert fires.'),
    labels: labelMap().optional().describe('Extra labels on every alert, e.g. for routing in Alertmanager.'),
  })
  .describe('Alerting rules (a PrometheusRule): high TTFT p95, high error rate, GPU memory. Thresholds are integers.');
export type AlertSettings = z.infer<typeof AlertSettings>;

// ---------------------------------------------------------------------------------------------------- spec

export const ObservabilityStackSpec = z
  .strictObject({
    environment: EnvironmentLabels,
    prometheus: PrometheusSettings.prefault({}),
    scrape: ScrapeSettings.prefault({}),
    grafana: GrafanaSettings.optional(),
    alerts: AlertSettings.optional(),
  })
  .describe(
    'Desired observability wiring of one cluster. Unlike a LoadTest this spec may be changed at any time; the ' +
      'operator reconciles it continuously.',
  );
export type ObservabilityStackSpec = z.infer<typeof ObservabilityStackSpec>;
export type ObservabilityStackSpecInput = z.input<typeof ObservabilityStackSpec>;

// -------------------------------------------------------------------------------------------------- status

export const ObservabilityStackConditionType = {
  /** Every part below is in place. */
  Ready: 'Ready',
  /** ServiceMonitors exist and a Prometheus selects them. E.g. reasons PrometheusOperatorNotInstalled, NoMatchingPrometheus. */
  ServiceMonitorsReady: 'ServiceMonitorsReady',
  /** Datasources and dashboards are provisioned. E.g. reasons GrafanaUnreachable, GrafanaAuthFailed. */
  GrafanaReady: 'GrafanaReady',
  /** The PrometheusRule exists and a Prometheus selects it. */
  AlertsReady: 'AlertsReady',
} as const;
export type ObservabilityStackConditionType =
  (typeof ObservabilityStackConditionType)[keyof typeof ObservabilityStackConditionType];

export const ManagedObject = z
  .object({
    apiVersion: z.string().max(253).describe('API version, e.g. `monitoring.coreos.com/v1`.'),
    kind: z.string().max(63).describe('Kind, e.g. `ServiceMonitor`.'),
    namespace: z.string().max(63).optional().describe('Namespace, for namespaced objects.'),
    name: z.string().max(253).describe('Name.'),
  })
  .describe('A Kubernetes object created and owned by this ObservabilityStack.');
export type ManagedObject = z.infer<typeof ManagedObject>;

export const GrafanaObject = z
  .object({
    type: z.enum(['datasource', 'dashboard', 'folder']).describe('What it is.'),
    uid: z.string().max(64).describe('Grafana uid.'),
    title: z.string().max(256).optional().describe('Name or title in Grafana.'),
  })
  .describe('An object created in Grafana through its HTTP API (mode api).');
export type GrafanaObject = z.infer<typeof GrafanaObject>;

export const ObservabilityStackStatus = z
  .object({
    observedGeneration: int(0, Number.MAX_SAFE_INTEGER)
      .optional()
      .describe('The metadata.generation this status was computed for.'),
    conditions: conditionList('Conditions: Ready, ServiceMonitorsReady, GrafanaReady and AlertsReady.').optional(),
    managedObjects: z.array(ManagedObject).max(256).optional().describe('Kubernetes objects this stack created.'),
    grafanaObjects: z
      .array(GrafanaObject)
      .max(128)
      .optional()
      .describe('Objects this stack created in Grafana (mode api).'),
  })
  .describe('Observed state, written by the operator.');
export type ObservabilityStackStatus = z.infer<typeof ObservabilityStackStatus>;

export const maxObservabilityStackNameLength = 63;
const stackNameTooLong = `metadata.name must be at most ${maxObservabilityStackNameLength} characters (it becomes a label value on every object the stack creates)`;

export const observabilityStackNameRule: CrdValidationRule = {
  rule: `self.metadata.name.size() <= ${maxObservabilityStackNameLength}`,
  message: stackNameTooLong,
};

export const ObservabilityStack = z
  .object({
    apiVersion: z.literal(`${group}/${version}`),
    kind: z.literal(observabilityStackNames.kind),
    metadata: ObjectMeta.extend({
      name: z.string().max(maxObservabilityStackNameLength, { error: stackNameTooLong }).optional(),
    }),
    spec: ObservabilityStackSpec,
    status: ObservabilityStackStatus.optional(),
  })
  .describe('An ObservabilityStack resource.');
export type ObservabilityStack = z.infer<typeof ObservabilityStack>;
