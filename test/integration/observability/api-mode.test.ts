/**
 * Grafana API mode against the fake Grafana (test/support/fake-grafana.ts, Grafana's documented HTTP API) with
 * the real client: create, no-op (no write to Grafana or Kubernetes), update, pruning, 401 → GrafanaAuthFailed,
 * unreachable → GrafanaUnreachable, and the finalizer deleting exactly what the stack created.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { folderUid } from '../../../operator/observability/desired/index.ts';
import { type ClusterHandle, waitFor } from '../../cluster/index.ts';
import { installCrds } from '../../support/crds.ts';
import { type FakeGrafana, startFakeGrafana } from '../../support/fake-grafana.ts';
import { StackNamespace, type StackOperator, startStackOperator, testCluster } from './helpers.ts';

const token = 'glsa_test-token-not-a-secret-anywhere-else';
const datasourcePassword = 'staging-prometheus-password-42';

/** A loopback port with nothing listening. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('ObservabilityStack Grafana API mode', () => {
  let cluster: ClusterHandle;
  let operator: StackOperator;
  let ns: StackNamespace;
  let grafana: FakeGrafana;

  before(async () => {
    grafana = await startFakeGrafana({ token });
    cluster = await testCluster();
    await installCrds(cluster);
    ns = new StackNamespace(cluster, await cluster.createNamespace('obs-api'));
    operator = await startStackOperator(cluster, { namespaces: [ns.namespace] });
    await ns.kubectl(['create', 'secret', 'generic', 'grafana-api', `--from-literal=token=${token}`]);
    await ns.kubectl([
      'create',
      'secret',
      'generic',
      'staging-auth',
      '--from-literal=username=grafana',
      `--from-literal=password=${datasourcePassword}`,
    ]);
  });

  after(async () => {
    await operator?.stop();
    await cluster?.stop();
    await grafana?.close();
  });

  const spec = (options: { url?: string; stagingUrl?: string; dashboards?: string[] } = {}) => ({
    environment: { name: 'development', cluster: 'rag-ray-dev' },
    prometheus: { url: 'http://kube-prometheus-stack-prometheus.monitoring:9090' },
    scrape: { runners: { enabled: false } },
    alerts: { enabled: false },
    grafana: {
      mode: 'api',
      api: { url: options.url ?? grafana.url, credentialsSecretRef: { name: 'grafana-api', tokenKey: 'token' } },
      datasources: [
        {
          name: 'prometheus-staging',
          url: options.stagingUrl ?? 'https://prometheus.staging.example.com',
          labels: { name: 'staging', cluster: 'rag-ray-staging' },
          authSecretRef: { name: 'staging-auth', usernameKey: 'username', passwordKey: 'password' },
        },
      ],
      dashboards: { builtIn: options.dashboards ?? ['loadtest-overview', 'vllm'], folder: 'LoadLM Central' },
    },
  });
  const apply = (specValue: unknown) =>
    ns.apply({
      apiVersion: 'loadlm.dev/v1alpha1',
      kind: 'ObservabilityStack',
      metadata: { name: 'central', namespace: ns.namespace },
      spec: specValue,
    });
  const nudge = async (value: string) => {
    const before = await operator.reconciles();
    await ns.kubectl(['annotate', '--overwrite', 'observabilitystack', 'central', `test/nudge=${value}`]);
    await waitFor('a reconcile after the nudge', async () => (await operator.reconciles()) > before);
  };

  it('creates datasources, the folder and dashboards by deterministic uid and records them in status', async () => {
    await apply(spec());
    const ready = await ns.waitForCondition('central', 'GrafanaReady', 'True', 'Provisioned');
    assert.match(ready.message, /2 datasource\(s\) and 2 dashboard\(s\)/);
    assert.deepEqual([...grafana.datasources.keys()].sort(), [
      'development-rag-ray-dev-prometheus',
      'staging-rag-ray-staging-prometheus',
    ]);
    const staging = grafana.datasources.get('staging-rag-ray-staging-prometheus');
    assert.equal(staging?.basicAuthUser, 'grafana');
    assert.equal(staging?.secureJsonData.basicAuthPassword, datasourcePassword);
    assert.equal(grafana.datasources.get('development-rag-ray-dev-prometheus')?.isDefault, true);
    assert.deepEqual(
      [...grafana.folders.values()].map((folder) => folder.title),
      ['LoadLM Central'],
    );
    assert.deepEqual([...grafana.dashboards.keys()].sort(), ['loadlm-loadtest-overview', 'loadlm-vllm']);
    const status = (await ns.stack('central'))?.status;
    assert.deepEqual(
      status?.grafanaObjects?.map((object) => `${object.type}/${object.uid}`),
      [
        'datasource/development-rag-ray-dev-prometheus',
        'datasource/staging-rag-ray-staging-prometheus',
        `folder/${folderUid('LoadLM Central')}`,
        'dashboard/loadlm-loadtest-overview',
        'dashboard/loadlm-vllm',
      ],
    );
    await ns.waitForCondition('central', 'Ready', 'True');
  });

  it('makes no write to Grafana or Kubernetes when nothing changed', async () => {
    await nudge('1');
    const grafanaWrites = grafana.requests.length;
    const kubeWrites = await operator.writes();
    await nudge('2');
    await nudge('3');
    assert.deepEqual(grafana.writes(grafanaWrites), []);
    assert.equal(await operator.writes(), kubeWrites);
  });

  it('updates a changed datasource and deletes a dashboard no longer wanted, leaving others alone', async () => {
    grafana.seedDashboard({ uid: 'someone-elses', title: 'Not ours', folderUid: folderUid('LoadLM Central') });
    await apply(spec({ stagingUrl: 'https://prometheus-2.staging.example.com', dashboards: ['vllm'] }));
    await waitFor('datasource updated and dashboard deleted', () => {
      const url = grafana.datasources.get('staging-rag-ray-staging-prometheus')?.url;
      return url === 'https://prometheus-2.staging.example.com' && !grafana.dashboards.has('loadlm-loadtest-overview');
    });
    await ns.waitForCondition('central', 'GrafanaReady', 'True', 'Provisioned');
    assert.ok(grafana.dashboards.has('someone-elses'));
    const recorded = (await ns.stack('central'))?.status?.grafanaObjects?.map((object) => object.uid);
    assert.ok(recorded && !recorded.includes('loadlm-loadtest-overview'));
  });

  it('reports GrafanaAuthFailed on 401 and GrafanaUnreachable when nothing answers, then recovers', async () => {
    await ns
      .kubectl([
        'create',
        'secret',
        'generic',
        'grafana-api',
        '--from-literal=token=wrong',
        '--dry-run=client',
        '-o',
        'yaml',
      ])
      .then((yaml) => ns.kubectl(['apply', '-f', '-'], yaml));
    await nudge('auth');
    const auth = await ns.waitForCondition('central', 'GrafanaReady', 'False', 'GrafanaAuthFailed');
    assert.ok(!auth.message.includes('wrong'), 'no credential in the message');
    await ns.waitForCondition('central', 'Ready', 'False', 'GrafanaAuthFailed');
    await ns
      .kubectl([
        'create',
        'secret',
        'generic',
        'grafana-api',
        `--from-literal=token=${token}`,
        '--dry-run=client',
        '-o',
        'yaml',
      ])
      .then((yaml) => ns.kubectl(['apply', '-f', '-'], yaml));
    await nudge('auth-fixed');
    await ns.waitForCondition('central', 'GrafanaReady', 'True', 'Provisioned');

    await apply(
      spec({
        url: `http://127.0.0.1:${await closedPort()}`,
        dashboards: ['vllm'],
        stagingUrl: 'https://prometheus-2.staging.example.com',
      }),
    );
    const unreachable = await ns.waitForCondition('central', 'GrafanaReady', 'False', 'GrafanaUnreachable');
    assert.match(unreachable.message, /127\.0\.0\.1/);
    await apply(spec({ stagingUrl: 'https://prometheus-2.staging.example.com', dashboards: ['vllm'] }));
    await ns.waitForCondition('central', 'GrafanaReady', 'True', 'Provisioned');

    const everywhere = [
      await ns.kubectl(['get', 'observabilitystack', 'central', '-o', 'json']),
      await ns.kubectl(['get', 'events', '-o', 'json']),
      await ns.kubectl(['get', 'configmaps', '-o', 'json']),
    ].join('\n');
    assert.ok(!everywhere.includes(token) && !everywhere.includes(datasourcePassword), 'secrets stay in Secrets');
  });

  it('deletes what it created from Grafana before the stack goes, and nothing else', async () => {
    await ns.kubectl(['delete', 'observabilitystack', 'central', '--wait=false']);
    await waitFor('the stack to go', async () => (await ns.stack('central')) === undefined);
    assert.deepEqual([...grafana.datasources.keys()], []);
    assert.deepEqual([...grafana.dashboards.keys()], ['someone-elses']);
    // The folder still holds someone else's dashboard: Grafana would delete it along, so the folder stays.
    assert.deepEqual([...grafana.folders.keys()], [folderUid('LoadLM Central')]);
  });
});
