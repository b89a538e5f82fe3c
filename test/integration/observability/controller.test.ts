/**
 * The ObservabilityStack controller on a real control plane with prometheus-operator's and grafana-operator's
 * CRDs: rendered objects are accepted by their schemas, Prometheus selection is checked, a no-op reconcile makes
 * no writes, spec changes prune, secrets stay out of everything but Secrets, and deletion removes everything the
 * stack created (also in other namespaces) and nothing else. The controller runs as a ServiceAccount holding only
 * its own RBAC rules, which cannot list or watch Secrets (helpers.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ObservabilityStack } from '../../../api/observabilitystack.ts';
import {
  datasourceModels,
  planDatasources,
  planGrafanaContent,
  renderGrafanaOperatorObjects,
  renderPrometheusRule,
  renderServiceMonitors,
  renderSidecarDashboards,
  renderSidecarDatasourceSecret,
} from '../../../operator/observability/desired/index.ts';
import { type ClusterHandle, waitFor } from '../../cluster/index.ts';
import { installCrds } from '../../support/crds.ts';
import { installThirdPartyCrds } from '../../support/third-party-crds.ts';
import { canI, StackNamespace, type StackOperator, stackSelector, startStackOperator, testCluster } from './helpers.ts';

const password = 'hunter2-datasource-password';

describe('ObservabilityStack controller with prometheus-operator and grafana-operator CRDs', () => {
  let cluster: ClusterHandle;
  let operator: StackOperator;
  let app: StackNamespace;
  let mon: string;

  before(async () => {
    cluster = await testCluster();
    await installCrds(cluster);
    await installThirdPartyCrds(cluster, 'prometheusOperator');
    await installThirdPartyCrds(cluster, 'grafanaOperator');
    app = new StackNamespace(cluster, await cluster.createNamespace('obs-app'));
    mon = await cluster.createNamespace('obs-mon');
    operator = await startStackOperator(cluster, { namespaces: [app.namespace, mon] });
  });

  after(async () => {
    await operator?.stop();
    await cluster?.stop();
  });

  const spec = () => ({
    environment: { name: 'development', provider: 'akamai-lke', cluster: 'rag-ray-dev', region: 'us-ord' },
    prometheus: {
      serviceMonitorLabels: { release: 'kube-prometheus-stack' },
      namespace: mon,
      url: 'http://kube-prometheus-stack-prometheus.monitoring:9090',
    },
    scrape: {
      vllm: {
        selector: { matchExpressions: [{ key: 'serving.kserve.io/inferenceservice', operator: 'Exists' }] },
        port: 'http',
      },
      dcgm: {
        selector: { matchLabels: { app: 'nvidia-dcgm-exporter' } },
        namespaces: [mon],
        port: 'metrics',
        intervalSeconds: 30,
      },
      extraApps: [
        {
          name: 'rag-backend',
          selector: { matchLabels: { app: 'rag-app-backend' } },
          port: 'http',
          scrapeTimeoutSeconds: 10,
        },
        { name: 'other', selector: { matchLabels: { app: 'other' } }, port: 'metrics' },
      ],
    },
    grafana: {
      mode: 'sidecar',
      sidecar: { namespace: mon },
      datasources: [
        {
          name: 'prometheus-staging',
          url: 'https://prometheus.staging.example.com',
          labels: { name: 'staging', cluster: 'rag-ray-staging' },
          authSecretRef: { name: 'staging-auth', usernameKey: 'username', passwordKey: 'password' },
        },
      ],
      dashboards: { builtIn: ['loadtest-overview', 'vllm'], folder: 'LoadLM Dev' },
    },
    alerts: { ttftP95Milliseconds: 800, labels: { team: 'inference' } },
  });
  const manifest = (specValue: unknown) => ({
    apiVersion: 'loadlm.dev/v1alpha1',
    kind: 'ObservabilityStack',
    metadata: { name: 'dev', namespace: app.namespace },
    spec: specValue,
  });

  it('runs as an identity that can get Secrets but not list or watch them', async () => {
    for (const namespace of [app.namespace, mon]) {
      assert.equal(await canI(cluster, operator.user, 'get', 'secrets', namespace), true);
      assert.equal(await canI(cluster, operator.user, 'list', 'secrets', namespace), false, `list in ${namespace}`);
      assert.equal(await canI(cluster, operator.user, 'watch', 'secrets', namespace), false, `watch in ${namespace}`);
    }
  });

  it('applies ServiceMonitors, the PrometheusRule and the sidecar objects, across namespaces', async () => {
    await app.kubectl([
      'create',
      'secret',
      'generic',
      'staging-auth',
      '--from-literal=username=grafana',
      `--from-literal=password=${password}`,
    ]);
    await app.apply(manifest(spec()));
    const ready = await app.waitForCondition('dev', 'Ready', 'True');
    assert.equal(ready.reason, 'Ready');
    const monitors = await app.waitForCondition('dev', 'ServiceMonitorsReady', 'True', 'Applied');
    assert.match(monitors.message, /no Prometheus object found/);

    const selector = stackSelector(app.namespace, 'dev');
    assert.deepEqual(await app.names('servicemonitors', { namespace: mon, selector }), [
      'dev-app-other',
      'dev-app-rag-backend',
      'dev-dcgm',
      'dev-runners',
      'dev-vllm',
    ]);
    type Monitor = {
      metadata: { labels: Record<string, string>; ownerReferences?: unknown[] };
      spec: {
        namespaceSelector: { matchNames?: string[]; any?: boolean };
        endpoints: {
          port: string;
          path: string;
          interval: string;
          scrapeTimeout?: string;
          relabelings: { targetLabel: string; replacement: string }[];
        }[];
      };
    };
    const rag = await app.getJson<Monitor>('servicemonitor', 'dev-app-rag-backend', mon);
    assert.equal(rag.metadata.labels.release, 'kube-prometheus-stack');
    assert.equal(rag.metadata.ownerReferences, undefined, 'no ownerReference across namespaces');
    assert.deepEqual(rag.spec.namespaceSelector, { matchNames: [app.namespace] });
    const endpoint = rag.spec.endpoints[0];
    assert.equal(endpoint?.scrapeTimeout, '10s');
    assert.deepEqual(
      Object.fromEntries(endpoint?.relabelings.map((relabel) => [relabel.targetLabel, relabel.replacement]) ?? []),
      {
        job: 'rag-backend',
        provider: 'akamai-lke',
        cluster: 'rag-ray-dev',
        region: 'us-ord',
        environment: 'development',
      },
    );
    const runners = await app.getJson<Monitor>('servicemonitor', 'dev-runners', mon);
    assert.deepEqual(runners.spec.namespaceSelector, { matchNames: [app.namespace, mon] });
    assert.equal(runners.spec.endpoints[0]?.port, 'metrics');

    const rule = await app.getJson<{
      metadata: { labels: Record<string, string> };
      spec: { groups: { rules: { expr: string; labels: Record<string, string> }[] }[] };
    }>('prometheusrule', 'dev-alerts', mon);
    assert.equal(rule.metadata.labels.release, 'kube-prometheus-stack');
    const rules = rule.spec.groups.flatMap((group) => group.rules);
    assert.ok(
      rules.some((entry) => entry.expr.includes('> 0.8')),
      'the TTFT threshold is 800 ms',
    );
    assert.ok(rules.every((entry) => entry.labels.team === 'inference'));

    const dashboards = await app.names('configmaps', { namespace: mon, selector });
    assert.deepEqual(dashboards, ['dev-dashboard-loadtest-overview', 'dev-dashboard-vllm']);
    const configMap = await app.getJson<{
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
      data: Record<string, string>;
    }>('configmap', 'dev-dashboard-vllm', mon);
    assert.equal(configMap.metadata.labels.grafana_dashboard, '1');
    assert.equal(configMap.metadata.annotations['k8s-sidecar-target-directory'], 'LoadLM Dev');
    assert.equal(JSON.parse(configMap.data['vllm.json'] ?? '{}').uid, 'loadlm-vllm');
    const secret = await app.getJson<{
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      data: Record<string, string>;
    }>('secret', 'dev-grafana-datasources', mon);
    assert.equal(secret.metadata.labels.grafana_datasource, '1');
    assert.equal(secret.metadata.annotations?.['loadlm.dev/applied-hash'], undefined, 'no digest of secret values');
    const file = Buffer.from(secret.data['datasources.yaml'] ?? '', 'base64').toString('utf8');
    assert.match(file, /uid: development-rag-ray-dev-prometheus/);
    assert.match(file, /uid: staging-rag-ray-staging-prometheus/);
    assert.ok(file.includes(password), 'the datasource file in the Secret carries the credentials');

    const status = (await app.stack('dev'))?.status;
    assert.equal(status?.managedObjects?.length, 9);
    assert.ok(status?.managedObjects?.some((object) => object.kind === 'Secret' && object.namespace === mon));
  });

  it('renders objects that the CRD schemas accept strictly (kubectl apply --dry-run=server --validate=strict)', async () => {
    const live = await app.stack('dev');
    assert.ok(live);
    const stack = ObservabilityStack.parse({ ...live, status: undefined });
    const plans = planDatasources(stack);
    const credentials = new Map([[plans[1]?.uid ?? '', { username: 'grafana', password: 'x' }]]);
    const content = planGrafanaContent(stack);
    const operatorMode = ObservabilityStack.parse({
      ...stack,
      spec: {
        ...stack.spec,
        grafana: {
          ...stack.spec.grafana,
          mode: 'operator',
          sidecar: undefined,
          operator: { instanceSelector: { matchLabels: { dashboards: 'grafana' } }, namespace: mon },
        },
      },
    });
    const grafanaOperator = renderGrafanaOperatorObjects(operatorMode, plans, credentials, content);
    const objects = [
      ...renderServiceMonitors(stack, { watchedNamespaces: [] }),
      renderPrometheusRule(stack),
      renderSidecarDatasourceSecret(stack, datasourceModels(plans, credentials)),
      ...renderSidecarDashboards(stack, content),
      ...grafanaOperator.datasources,
      ...grafanaOperator.dashboards,
      grafanaOperator.credentials,
    ].map((object) => ({
      ...object,
      metadata: { ...object?.metadata, name: `dryrun-${object?.metadata.name}`, ownerReferences: [] },
    }));
    const list = { apiVersion: 'v1', kind: 'List', items: objects };
    const result = await cluster.kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], {
      input: JSON.stringify(list),
    });
    assert.equal(result.stdout.trim().split('\n').length, objects.length, result.stdout);
    assert.doesNotMatch(result.stderr, /unknown field|Warning/i);
  });

  it('reports NoMatchingPrometheus while no Prometheus selects our labels, then Selected', async () => {
    const prometheus = (release: string) => ({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'Prometheus',
      metadata: { name: 'k8s', namespace: mon },
      spec: {
        serviceMonitorSelector: { matchLabels: { release } },
        serviceMonitorNamespaceSelector: {},
        ruleSelector: { matchLabels: { release } },
        ruleNamespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': mon } },
      },
    });
    await app.apply(prometheus('other-release'));
    const monitors = await app.waitForCondition('dev', 'ServiceMonitorsReady', 'False', 'NoMatchingPrometheus');
    assert.match(
      monitors.message,
      new RegExp(`Prometheus ${mon}/k8s: its serviceMonitorSelector \\{release=other-release\\}`),
    );
    assert.match(monitors.message, /prometheus\.serviceMonitorLabels/);
    await app.waitForCondition('dev', 'AlertsReady', 'False', 'NoMatchingPrometheus');
    await app.waitForCondition('dev', 'Ready', 'False', 'NoMatchingPrometheus');

    await app.apply(prometheus('kube-prometheus-stack'));
    const selected = await app.waitForCondition('dev', 'ServiceMonitorsReady', 'True', 'Selected');
    assert.match(selected.message, new RegExp(`selected by Prometheus ${mon}/k8s`));
    await app.waitForCondition('dev', 'AlertsReady', 'True', 'Selected');
    await app.waitForCondition('dev', 'Ready', 'True');
  });

  it('makes no writes when nothing changed', async () => {
    const nudge = async (value: string) => {
      const before = await operator.reconciles();
      await app.kubectl(['annotate', '--overwrite', 'observabilitystack', 'dev', `test/nudge=${value}`]);
      await waitFor('a reconcile after the nudge', async () => (await operator.reconciles()) > before);
    };
    await nudge('1'); // settles anything a stale cache may still have applied
    const writes = await operator.writes();
    assert.ok(writes > 0, 'the write counter counts (the stack was applied through it)');
    await nudge('2');
    await nudge('3');
    assert.equal(await operator.writes(), writes);
  });

  it('puts back what someone else changed or deleted', async () => {
    await cluster.kubectl(
      ['patch', 'servicemonitor', 'dev-vllm', '--type=merge', '-p', '{"spec":{"endpoints":[{"port":"oops"}]}}'],
      { namespace: mon },
    );
    await cluster.kubectl(['delete', 'configmap', 'dev-dashboard-vllm'], { namespace: mon });
    await waitFor('ServiceMonitor and ConfigMap restored', async () => {
      const monitor = await app.getJson<{ spec: { endpoints: { port: string }[] } }>('servicemonitor', 'dev-vllm', mon);
      const configMaps = await app.names('configmaps', {
        namespace: mon,
        selector: stackSelector(app.namespace, 'dev'),
      });
      return monitor.spec.endpoints[0]?.port === 'http' && configMaps.includes('dev-dashboard-vllm');
    });
  });

  it('puts back its Secret on the next pass (Secrets are not watched)', async () => {
    await cluster.kubectl(['delete', 'secret', 'dev-grafana-datasources'], { namespace: mon });
    await app.kubectl(['annotate', '--overwrite', 'observabilitystack', 'dev', 'test/nudge=secret']);
    await waitFor('the datasource Secret restored', async () => {
      const names = await app.names('secrets', { namespace: mon, selector: stackSelector(app.namespace, 'dev') });
      return names.includes('dev-grafana-datasources');
    });
  });

  it('prunes what a spec change no longer wants, and nothing else', async () => {
    // Not ours: no tracking labels, and tracking labels of another stack.
    const foreign = (name: string, labels: Record<string, string>) => ({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name, namespace: mon, labels },
      spec: { selector: { matchLabels: { app: name } }, endpoints: [{ port: 'metrics' }] },
    });
    await app.apply(foreign('foreign', { release: 'kube-prometheus-stack' }));
    await app.apply(
      foreign('other-stack-vllm', {
        'app.kubernetes.io/managed-by': 'loadlm-operator',
        'loadlm.dev/observabilitystack': 'dev',
        'loadlm.dev/observabilitystack-namespace': 'somewhere-else',
      }),
    );
    const changed = spec();
    changed.scrape.extraApps = changed.scrape.extraApps.filter((entry) => entry.name !== 'other');
    (changed.scrape as { dcgm?: unknown }).dcgm = undefined;
    (changed.alerts as { enabled?: boolean }).enabled = false;
    await app.apply(manifest(JSON.parse(JSON.stringify(changed))));
    await app.waitForCondition('dev', 'AlertsReady', 'True', 'Disabled');
    const selector = stackSelector(app.namespace, 'dev');
    await waitFor('pruned ServiceMonitors and PrometheusRule', async () => {
      const monitors = await app.names('servicemonitors', { namespace: mon, selector });
      const rules = await app.names('prometheusrules', { namespace: mon, selector });
      return monitors.join(',') === 'dev-app-rag-backend,dev-runners,dev-vllm' && rules.length === 0;
    });
    assert.deepEqual(await app.names('servicemonitors', { namespace: mon }), [
      'dev-app-rag-backend',
      'dev-runners',
      'dev-vllm',
      'foreign',
      'other-stack-vllm',
    ]);
  });

  it('switches to grafana-operator objects without putting credentials into them', async () => {
    const changed = spec();
    (changed.grafana as Record<string, unknown>).mode = 'operator';
    (changed.grafana as Record<string, unknown>).sidecar = undefined;
    (changed.grafana as Record<string, unknown>).operator = {
      instanceSelector: { matchLabels: { dashboards: 'grafana' } },
      namespace: mon,
    };
    await app.apply(manifest(JSON.parse(JSON.stringify(changed))));
    const grafana = await app.waitForCondition('dev', 'GrafanaReady', 'True', 'Provisioned');
    assert.match(grafana.message, /2 GrafanaDatasource\(s\) and 2 GrafanaDashboard\(s\)/);
    const selector = stackSelector(app.namespace, 'dev');
    await waitFor(
      'sidecar objects pruned',
      async () => (await app.names('configmaps', { namespace: mon, selector })).length === 0,
    );
    assert.deepEqual(await app.names('secrets', { namespace: mon, selector }), ['dev-grafana-datasource-auth']);
    const datasource = await app.getJson<{
      spec: { uid: string; datasource: Record<string, unknown>; valuesFrom?: unknown[] };
    }>('grafanadatasource', 'dev-datasource-staging-rag-ray-staging-prometheus', mon);
    assert.equal(datasource.spec.uid, 'staging-rag-ray-staging-prometheus');
    assert.equal(datasource.spec.datasource.basicAuthUser, 'grafana');
    assert.deepEqual(datasource.spec.valuesFrom, [
      {
        targetPath: 'secureJsonData.basicAuthPassword',
        valueFrom: {
          secretKeyRef: { name: 'dev-grafana-datasource-auth', key: 'staging-rag-ray-staging-prometheus-password' },
        },
      },
    ]);

    const everywhere = [
      await app.kubectl(['get', 'observabilitystack', 'dev', '-o', 'json']),
      (await cluster.kubectl(['get', 'events', '-o', 'json'], { namespace: app.namespace })).stdout,
      (
        await cluster.kubectl(
          ['get', 'grafanadatasources,grafanadashboards,configmaps,servicemonitors,prometheusrules', '-o', 'json'],
          { namespace: mon },
        )
      ).stdout,
    ].join('\n');
    assert.ok(!everywhere.includes(password), 'the password appears only in Secrets');
  });

  it('says what to fix for an unwatched namespace and a missing Secret, and recovers once the Secret exists', async () => {
    const broken = {
      apiVersion: 'loadlm.dev/v1alpha1',
      kind: 'ObservabilityStack',
      metadata: { name: 'broken', namespace: app.namespace },
      spec: {
        environment: { cluster: 'c2' },
        prometheus: { namespace: 'not-watched' },
        grafana: {
          mode: 'sidecar',
          datasources: [{ name: 'p', url: 'https://p', authSecretRef: { name: 'absent', tokenKey: 'token' } }],
        },
      },
    };
    await app.apply(broken);
    const monitors = await app.waitForCondition('broken', 'ServiceMonitorsReady', 'False', 'NamespaceNotWatched');
    assert.match(monitors.message, /prometheus\.namespace is not-watched, which the operator does not watch/);
    const grafana = await app.waitForCondition('broken', 'GrafanaReady', 'False', 'SecretNotFound');
    assert.match(grafana.message, /Secret .*\/absent \(grafana\.datasources\[p\]\.authSecretRef\) does not exist/);
    await app.kubectl(['create', 'secret', 'generic', 'absent', '--from-literal=token=t0ken']);
    await app.waitForCondition('broken', 'GrafanaReady', 'True', 'Provisioned');
    await app.kubectl(['delete', 'observabilitystack', 'broken']);
  });

  it('removes everything it created on deletion, in every namespace, and nothing else, also after a restart', async () => {
    // Deleted while the operator is down: the first pass of the next one is the cleanup (cold caches).
    await operator.stop();
    await app.kubectl(['delete', 'observabilitystack', 'dev', '--wait=false']);
    operator = await startStackOperator(cluster, { namespaces: [app.namespace, mon] });
    await waitFor('the stack to go', async () => (await app.stack('dev')) === undefined, { timeoutMs: 30_000 });
    const selector = stackSelector(app.namespace, 'dev');
    for (const namespace of [app.namespace, mon]) {
      for (const kind of [
        'servicemonitors',
        'prometheusrules',
        'configmaps',
        'secrets',
        'grafanadatasources',
        'grafanadashboards',
      ]) {
        assert.deepEqual(await app.names(kind, { namespace, selector }), [], `${kind} in ${namespace}`);
      }
    }
    assert.deepEqual(await app.names('servicemonitors', { namespace: mon }), ['foreign', 'other-stack-vllm']);
    assert.deepEqual(
      await app
        .names('secrets', { namespace: app.namespace, selector: '' })
        .then((names) => names.filter((name) => name === 'staging-auth')),
      ['staging-auth'],
    );
    assert.deepEqual(await app.names('prometheuses', { namespace: mon }), ['k8s']);
  });
});
