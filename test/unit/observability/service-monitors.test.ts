import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderServiceMonitors } from '../../../operator/observability/desired/service-monitors.ts';
import { environment, stackOf } from './stack-fixtures.ts';

describe('renderServiceMonitors', () => {
  const full = stackOf({
    environment,
    prometheus: { serviceMonitorLabels: { release: 'kube-prometheus-stack' } },
    scrape: {
      vllm: { selector: { matchLabels: { app: 'vllm' } }, namespaces: ['models'], port: 'http', intervalSeconds: 10 },
      dcgm: { selector: { matchLabels: { app: 'dcgm' } }, port: 'metrics', scrapeTimeoutSeconds: 5 },
      extraApps: [{ name: 'rag-backend', selector: { matchLabels: { app: 'rag' } }, port: 'http', path: '/stats' }],
    },
  });

  it('makes one ServiceMonitor per target, in the stack namespace by default, owned by the stack', () => {
    const monitors = renderServiceMonitors(full, { watchedNamespaces: [] });
    assert.deepEqual(
      monitors.map((monitor) => `${monitor.metadata.namespace}/${monitor.metadata.name}`),
      ['apps/dev-vllm', 'apps/dev-dcgm', 'apps/dev-runners', 'apps/dev-app-rag-backend'],
    );
    for (const monitor of monitors) {
      assert.equal(monitor.metadata.ownerReferences[0]?.uid, '11111111-2222-3333-4444-555555555555');
      assert.equal(monitor.metadata.labels.release, 'kube-prometheus-stack');
      assert.equal(monitor.metadata.labels['loadlm.dev/observabilitystack'], 'dev');
      assert.equal(monitor.metadata.labels['loadlm.dev/observabilitystack-namespace'], 'apps');
    }
  });

  it('stamps every environment label with replace relabelings and honours path, interval and timeout', () => {
    const [vllm, dcgm, , rag] = renderServiceMonitors(full, { watchedNamespaces: [] });
    assert.deepEqual(vllm?.spec.endpoints, [
      {
        port: 'http',
        path: '/metrics',
        interval: '10s',
        relabelings: [
          { action: 'replace', targetLabel: 'provider', replacement: 'akamai-lke' },
          { action: 'replace', targetLabel: 'cluster', replacement: 'rag-ray-dev' },
          { action: 'replace', targetLabel: 'region', replacement: 'us-ord' },
          { action: 'replace', targetLabel: 'environment', replacement: 'development' },
        ],
      },
    ]);
    assert.deepEqual(vllm?.spec.namespaceSelector, { matchNames: ['models'] });
    assert.equal(dcgm?.spec.endpoints[0]?.scrapeTimeout, '5s');
    assert.deepEqual(dcgm?.spec.namespaceSelector, { matchNames: ['apps'] });
    assert.equal(rag?.spec.endpoints[0]?.path, '/stats');
    assert.deepEqual(rag?.spec.endpoints[0]?.relabelings[0], {
      action: 'replace',
      targetLabel: 'job',
      replacement: 'rag-backend',
    });
  });

  it('scrapes runner Services by their metrics label in the watched namespaces, or any namespace', () => {
    const runners = (watchedNamespaces: string[], namespaces?: string[]) =>
      renderServiceMonitors(
        stackOf({ environment, scrape: { runners: { intervalSeconds: 5, ...(namespaces ? { namespaces } : {}) } } }),
        { watchedNamespaces },
      )[0];
    assert.deepEqual(runners([])?.spec.selector, { matchLabels: { 'loadlm.dev/metrics': 'true' } });
    assert.deepEqual(runners([])?.spec.namespaceSelector, { any: true });
    assert.deepEqual(runners(['a', 'b'])?.spec.namespaceSelector, { matchNames: ['a', 'b'] });
    assert.deepEqual(runners(['a', 'b'], ['c'])?.spec.namespaceSelector, { matchNames: ['c'] });
    assert.equal(runners([])?.spec.endpoints[0]?.port, 'metrics');
    assert.equal(runners([])?.spec.endpoints[0]?.interval, '5s');
  });

  it('puts monitors in prometheus.namespace without an ownerReference, and omits unset labels', () => {
    const stack = stackOf({ environment: { cluster: 'c1' }, prometheus: { namespace: 'monitoring' } });
    const [runners] = renderServiceMonitors(stack, { watchedNamespaces: [] });
    assert.equal(runners?.metadata.namespace, 'monitoring');
    assert.deepEqual(runners?.metadata.ownerReferences, []);
    assert.deepEqual(runners?.spec.endpoints[0]?.relabelings, [
      { action: 'replace', targetLabel: 'cluster', replacement: 'c1' },
    ]);
  });

  it('renders nothing when every target is off', () => {
    assert.deepEqual(
      renderServiceMonitors(stackOf({ environment, scrape: { runners: { enabled: false } } }), {
        watchedNamespaces: [],
      }),
      [],
    );
  });

  it('keeps the tracking labels even when the selection labels name them', () => {
    const stack = stackOf({
      environment,
      prometheus: { serviceMonitorLabels: { 'loadlm.dev/observabilitystack': 'x' } },
    });
    const [runners] = renderServiceMonitors(stack, { watchedNamespaces: [] });
    assert.equal(runners?.metadata.labels['loadlm.dev/observabilitystack'], 'dev');
  });
});
