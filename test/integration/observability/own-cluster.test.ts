/**
 * The two suites that need a control plane of their own, sharing one (cluster starts are not free on 2 cores):
 * 1. An ObservabilityStack without prometheus-operator's and grafana-operator's CRDs: the parts that need them
 *    report PrometheusOperatorNotInstalled / GrafanaOperatorNotInstalled (no crash, no error loop), the rest is
 *    provisioned, and once the CRDs are installed the stack is picked up without a restart. (The shared cluster
 *    may have those CRDs already.)
 * 2. The three example manifests (examples/observabilitystack-*.yaml: a development cluster with the Grafana
 *    sidecar, a staging cluster with grafana-operator, and a central Grafana over both through the HTTP API)
 *    applied as they are and reconciled until Ready, next to kube-prometheus-stack's Prometheus object. The only
 *    edit: the central Grafana's URL points at the fake Grafana on loopback. (They use the `monitoring`
 *    namespace.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { type LocalCluster, startCluster, waitFor } from '../../cluster/index.ts';
import { installCrds } from '../../support/crds.ts';
import { type FakeGrafana, startFakeGrafana } from '../../support/fake-grafana.ts';
import { installThirdPartyCrds } from '../../support/third-party-crds.ts';
import { StackNamespace, type StackOperator, stackSelector, startStackOperator } from './helpers.ts';

let cluster: LocalCluster;

before(async () => {
  cluster = await startCluster();
  await installCrds(cluster);
});

after(async () => {
  await cluster?.stop();
});

describe('ObservabilityStack without the third-party CRDs', () => {
  let operator: StackOperator;
  let ns: StackNamespace;

  before(async () => {
    ns = new StackNamespace(cluster, await cluster.createNamespace('obs-nocrd'));
    operator = await startStackOperator(cluster, { namespaces: [ns.namespace] });
  });

  after(async () => {
    await operator?.stop();
  });

  const stack = (grafana: Record<string, unknown>) => ({
    apiVersion: 'loadlm.dev/v1alpha1',
    kind: 'ObservabilityStack',
    metadata: { name: 'dev', namespace: ns.namespace },
    spec: {
      environment: { name: 'development', provider: 'akamai-lke', cluster: 'rag-ray-dev', region: 'us-ord' },
      prometheus: {
        serviceMonitorLabels: { release: 'kube-prometheus-stack' },
        url: 'http://prometheus.monitoring:9090',
      },
      scrape: { vllm: { selector: { matchLabels: { app: 'vllm' } }, port: 'http' } },
      grafana: { dashboards: { builtIn: ['vllm', 'gpu'] }, ...grafana },
    },
  });

  it('reports PrometheusOperatorNotInstalled and still provisions the sidecar Grafana objects', async () => {
    await ns.apply(stack({ mode: 'sidecar' }));
    const monitors = await ns.waitForCondition(
      'dev',
      'ServiceMonitorsReady',
      'False',
      'PrometheusOperatorNotInstalled',
    );
    assert.match(monitors.message, /servicemonitors\.monitoring\.coreos\.com/);
    await ns.waitForCondition('dev', 'AlertsReady', 'False', 'PrometheusOperatorNotInstalled');
    await ns.waitForCondition('dev', 'GrafanaReady', 'True', 'Provisioned');
    await ns.waitForCondition('dev', 'Ready', 'False', 'PrometheusOperatorNotInstalled');
    const selector = stackSelector(ns.namespace, 'dev');
    assert.deepEqual(await ns.names('configmaps', { selector }), ['dev-dashboard-gpu', 'dev-dashboard-vllm']);
    assert.deepEqual(await ns.names('secrets', { selector }), ['dev-grafana-datasources']);

    // Looked at again every retry interval, but never as an error (no error backoff, no crash loop).
    const before = await operator.reconciles();
    await waitFor('a few more reconciles', async () => (await operator.reconciles()) >= before + 3, {
      timeoutMs: 15_000,
    });
    const errors = await operator.manager.registry.getSingleMetricAsString('controller_runtime_reconcile_errors_total');
    assert.doesNotMatch(errors, /controller="observabilitystack"[^\n]* [1-9]/);
  });

  it('picks the stack up once prometheus-operator is installed', async () => {
    await installThirdPartyCrds(cluster, 'prometheusOperator');
    // New kinds reach API discovery with some delay, more so on a busy machine.
    await ns.waitForCondition('dev', 'ServiceMonitorsReady', 'True', 'Applied', 90_000);
    await ns.waitForCondition('dev', 'AlertsReady', 'True', 'Applied');
    await ns.waitForCondition('dev', 'Ready', 'True');
    const selector = stackSelector(ns.namespace, 'dev');
    assert.deepEqual(await ns.names('servicemonitors', { selector }), ['dev-runners', 'dev-vllm']);
    assert.deepEqual(await ns.names('prometheusrules', { selector }), ['dev-alerts']);
  });

  it('reports GrafanaOperatorNotInstalled in mode operator, removes the sidecar objects, and recovers', async () => {
    await ns.apply(
      stack({ mode: 'operator', operator: { instanceSelector: { matchLabels: { dashboards: 'grafana' } } } }),
    );
    await ns.waitForCondition('dev', 'GrafanaReady', 'False', 'GrafanaOperatorNotInstalled');
    const selector = stackSelector(ns.namespace, 'dev');
    await waitFor('sidecar ConfigMaps and Secret pruned', async () => {
      const left = [...(await ns.names('configmaps', { selector })), ...(await ns.names('secrets', { selector }))];
      return left.length === 0;
    });
    await installThirdPartyCrds(cluster, 'grafanaOperator');
    await ns.waitForCondition('dev', 'GrafanaReady', 'True', 'Provisioned', 90_000);
    assert.deepEqual(await ns.names('grafanadashboards', { selector }), ['dev-dashboard-gpu', 'dev-dashboard-vllm']);
    assert.deepEqual(await ns.names('grafanadatasources', { selector }), [
      'dev-datasource-development-rag-ray-dev-prometheus',
    ]);
  });
});

const examples = join(import.meta.dirname, '..', '..', '..', 'examples');
const example = (name: string) =>
  parse(readFileSync(join(examples, `observabilitystack-${name}.yaml`), 'utf8')) as {
    metadata: { name: string; namespace?: string };
    spec: { grafana: { api?: { url: string } } };
  };

describe('ObservabilityStack examples', () => {
  let operator: StackOperator;
  let grafana: FakeGrafana;
  let ns: StackNamespace;

  before(async () => {
    grafana = await startFakeGrafana({ token: 'central-token' });
    // Installed already by the suite above when it ran; idempotent.
    await installThirdPartyCrds(cluster, 'prometheusOperator');
    await installThirdPartyCrds(cluster, 'grafanaOperator');
    for (const namespace of ['monitoring', 'development', 'staging', 'rag-app']) {
      await cluster.kubectl(['create', 'namespace', namespace]);
    }
    ns = new StackNamespace(cluster, await cluster.createNamespace('loadlm'));
    // kube-prometheus-stack's Prometheus with its default selectors (release label, any namespace).
    await ns.apply({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'Prometheus',
      metadata: { name: 'kube-prometheus-stack-prometheus', namespace: 'monitoring' },
      spec: {
        serviceMonitorSelector: { matchLabels: { release: 'kube-prometheus-stack' } },
        serviceMonitorNamespaceSelector: {},
        ruleSelector: { matchLabels: { release: 'kube-prometheus-stack' } },
        ruleNamespaceSelector: {},
      },
    });
    await ns.kubectl(['create', 'secret', 'generic', 'grafana-api', '--from-literal=token=central-token']);
    await ns.kubectl([
      'create',
      'secret',
      'generic',
      'prometheus-staging-auth',
      '--from-literal=username=grafana',
      '--from-literal=password=staging-password',
    ]);
    operator = await startStackOperator(cluster, { namespaces: [] });
  });

  after(async () => {
    await operator?.stop();
    await grafana?.close();
  });

  it('development (sidecar): ServiceMonitors selected by kube-prometheus-stack, dashboards in monitoring', async () => {
    await ns.apply({ ...example('development'), metadata: { name: 'development', namespace: ns.namespace } });
    const monitors = await ns.waitForCondition('development', 'ServiceMonitorsReady', 'True', 'Selected');
    assert.match(monitors.message, /monitoring\/kube-prometheus-stack-prometheus/);
    await ns.waitForCondition('development', 'AlertsReady', 'True', 'Selected');
    await ns.waitForCondition('development', 'GrafanaReady', 'True', 'Provisioned');
    await ns.waitForCondition('development', 'Ready', 'True');
    const selector = stackSelector(ns.namespace, 'development');
    assert.deepEqual(await ns.names('configmaps', { namespace: 'monitoring', selector }), [
      'development-dashboard-benchmark-comparison',
      'development-dashboard-gpu',
      'development-dashboard-loadtest-overview',
      'development-dashboard-rag-overview',
      'development-dashboard-vllm',
    ]);
    assert.deepEqual(await ns.names('servicemonitors', { selector }), [
      'development-app-rag-backend',
      'development-dcgm',
      'development-runners',
      'development-vllm',
    ]);
  });

  it('staging (grafana-operator): GrafanaDatasource and GrafanaDashboards in monitoring', async () => {
    await ns.apply({ ...example('staging'), metadata: { name: 'staging', namespace: ns.namespace } });
    await ns.waitForCondition('staging', 'Ready', 'True');
    const selector = stackSelector(ns.namespace, 'staging');
    assert.deepEqual(await ns.names('grafanadashboards', { namespace: 'monitoring', selector }), [
      'staging-dashboard-gpu',
      'staging-dashboard-loadtest-overview',
      'staging-dashboard-vllm',
    ]);
    assert.deepEqual(await ns.names('grafanadatasources', { namespace: 'monitoring', selector }), [
      'staging-datasource-staging-rag-ray-staging-prometheus',
    ]);
  });

  it('central Grafana (API): one datasource per cluster and the dashboards in its folder', async () => {
    const central = example('central-grafana');
    const api = central.spec.grafana.api;
    assert.ok(api);
    api.url = grafana.url;
    await ns.apply({ ...central, metadata: { name: 'central-grafana', namespace: ns.namespace } });
    await ns.waitForCondition('central-grafana', 'Ready', 'True');
    assert.deepEqual([...grafana.datasources.keys()].sort(), [
      'development-rag-ray-dev-prometheus',
      'staging-rag-ray-staging-prometheus',
    ]);
    assert.equal(grafana.datasources.get('development-rag-ray-dev-prometheus')?.isDefault, true);
    assert.deepEqual([...grafana.dashboards.keys()].sort(), [
      'loadlm-benchmark-comparison',
      'loadlm-gpu',
      'loadlm-loadtest-overview',
      'loadlm-vllm',
    ]);
    assert.deepEqual(
      [...grafana.folders.values()].map((folder) => folder.title),
      ['LoadLM Benchmarks'],
    );
  });
});
