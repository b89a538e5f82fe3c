/** Sidecar and grafana-operator renderers, and the PrometheusRule wrapper. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  datasourceModels,
  folderUid,
  planDatasources,
  planGrafanaContent,
  renderGrafanaOperatorObjects,
  renderPrometheusRule,
  renderSidecarDashboards,
  renderSidecarDatasourceSecret,
} from '../../../operator/observability/desired/index.ts';
import { environment, stackOf } from './stack-fixtures.ts';

const withAuth = {
  name: 'staging',
  url: 'https://prometheus.staging',
  labels: { name: 'staging', cluster: 'rag-ray-staging' },
  authSecretRef: { name: 'auth', usernameKey: 'u', passwordKey: 'p' },
};
const credentials = new Map([['staging-rag-ray-staging-prometheus', { username: 'grafana', password: 's3cret' }]]);

describe('sidecar objects', () => {
  const stack = stackOf({
    environment,
    prometheus: { url: 'http://prom:9090' },
    grafana: {
      mode: 'sidecar',
      sidecar: { namespace: 'monitoring', folderAnnotation: 'grafana_folder' },
      datasources: [withAuth],
      dashboards: { builtIn: ['vllm', 'gpu'], folder: 'Bench' },
    },
  });

  it('puts the datasources with their credentials in a labelled Secret as a provisioning file', () => {
    const secret = renderSidecarDatasourceSecret(stack, datasourceModels(planDatasources(stack), credentials));
    assert.equal(secret?.metadata.namespace, 'monitoring');
    assert.deepEqual(secret?.metadata.ownerReferences, []);
    assert.equal(secret?.metadata.labels.grafana_datasource, '1');
    const file = parse(Buffer.from(secret?.data['datasources.yaml'] ?? '', 'base64').toString('utf8'));
    assert.equal(file.apiVersion, 1);
    assert.deepEqual(
      file.datasources.map((datasource: { uid: string; isDefault: boolean }) => [datasource.uid, datasource.isDefault]),
      [
        ['development-rag-ray-dev-prometheus', true],
        ['staging-rag-ray-staging-prometheus', false],
      ],
    );
    assert.deepEqual(file.datasources[1].secureJsonData, { basicAuthPassword: 's3cret' });
  });

  it('makes one ConfigMap per dashboard with the folder annotation and no secrets', () => {
    const configMaps = renderSidecarDashboards(stack, planGrafanaContent(stack));
    assert.deepEqual(
      configMaps.map((configMap) => configMap.metadata.name),
      ['dev-dashboard-vllm', 'dev-dashboard-gpu'],
    );
    for (const configMap of configMaps) {
      assert.equal(configMap.metadata.labels.grafana_dashboard, '1');
      assert.deepEqual(configMap.metadata.annotations, { grafana_folder: 'Bench' });
      assert.ok(!JSON.stringify(configMap).includes('s3cret'));
    }
    const model = JSON.parse(configMaps[0]?.data['vllm.json'] ?? '{}');
    assert.equal(model.uid, 'loadlm-vllm');
    assert.equal(model.id, undefined);
  });

  it('renders no Secret without datasources', () => {
    const bare = stackOf({ environment, grafana: { mode: 'sidecar' } });
    assert.equal(renderSidecarDatasourceSecret(bare, []), undefined);
  });
});

describe('grafana-operator objects', () => {
  const stack = stackOf({
    environment,
    grafana: {
      mode: 'operator',
      operator: { instanceSelector: { matchLabels: { dashboards: 'grafana' } } },
      datasources: [withAuth, { name: 'open', url: 'https://open' }],
      dashboards: { builtIn: ['vllm'] },
    },
  });
  const rendered = renderGrafanaOperatorObjects(stack, planDatasources(stack), credentials, planGrafanaContent(stack));

  it('references copied credentials through valuesFrom instead of inlining them', () => {
    const [staging, open] = rendered.datasources;
    assert.equal(staging?.spec.uid, 'staging-rag-ray-staging-prometheus');
    assert.deepEqual(staging?.spec.instanceSelector, { matchLabels: { dashboards: 'grafana' } });
    assert.deepEqual(staging?.spec.datasource.secureJsonData, {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: grafana-operator's placeholder, not a template
      basicAuthPassword: '${staging-rag-ray-staging-prometheus-password}',
    });
    assert.deepEqual(staging?.spec.valuesFrom, [
      {
        targetPath: 'secureJsonData.basicAuthPassword',
        valueFrom: {
          secretKeyRef: { name: 'dev-grafana-datasource-auth', key: 'staging-rag-ray-staging-prometheus-password' },
        },
      },
    ]);
    assert.equal(open?.spec.valuesFrom, undefined);
    assert.ok(!JSON.stringify(rendered.datasources).includes('s3cret'));
    assert.equal(
      Buffer.from(rendered.credentials?.data['staging-rag-ray-staging-prometheus-password'] ?? '', 'base64').toString(),
      's3cret',
    );
  });

  it('puts each dashboard JSON into a GrafanaDashboard with its folder and uid', () => {
    assert.equal(rendered.dashboards.length, 1);
    const [dashboard] = rendered.dashboards;
    assert.equal(dashboard?.spec.uid, 'loadlm-vllm');
    assert.equal(dashboard?.spec.folder, 'LoadLM');
    assert.equal(JSON.parse(dashboard?.spec.json ?? '{}').uid, 'loadlm-vllm');
    assert.equal(dashboard?.metadata.ownerReferences[0]?.kind, 'ObservabilityStack');
  });

  it('gives folders a stable uid of at most 40 characters', () => {
    assert.equal(folderUid('loadlm'), 'loadlm-loadlm');
    assert.match(folderUid('LoadLM Benchmarks'), /^loadlm-loadlm-benchmarks-[0-9a-f]{6}$/);
    assert.ok(folderUid('x'.repeat(128)).length <= 40);
  });
});

describe('PrometheusRule', () => {
  it('wraps the alert groups with the rule labels (default: the ServiceMonitor labels)', () => {
    const rule = renderPrometheusRule(
      stackOf({
        environment,
        prometheus: { serviceMonitorLabels: { release: 'kps' } },
        alerts: { errorRatePercent: 2 },
      }),
    );
    assert.equal(rule?.metadata.name, 'dev-alerts');
    assert.equal(rule?.metadata.labels.release, 'kps');
    assert.ok(rule?.spec.groups.flatMap((group) => group.rules).some((entry) => entry.expr.endsWith('> 2')));
    const own = renderPrometheusRule(
      stackOf({
        environment,
        prometheus: { serviceMonitorLabels: { release: 'kps' }, ruleLabels: { role: 'alerts' } },
      }),
    );
    assert.equal(own?.metadata.labels.release, undefined);
    assert.equal(own?.metadata.labels.role, 'alerts');
  });

  it('is absent when alerts are disabled, present by default', () => {
    assert.equal(renderPrometheusRule(stackOf({ environment, alerts: { enabled: false } })), undefined);
    assert.ok(renderPrometheusRule(stackOf({ environment })));
  });
});
