import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cachedOwnedObject, cachedPrometheus } from '../../../operator/observability/cache-transforms.ts';
import {
  planGrafanaContent,
  renderGrafanaOperatorObjects,
  renderSidecarDatasourceSecret,
} from '../../../operator/observability/desired/index.ts';
import { needsApply, withAppliedHash } from '../../../operator/runtime/apply.ts';
import type { KubeObject } from '../../../operator/runtime/resources.ts';
import { environment, stackOf } from './stack-fixtures.ts';

/** What the apiserver would hand back after our apply: the object plus our managedFields entry. */
const asStored = (object: KubeObject): KubeObject => ({
  ...object,
  metadata: {
    ...object.metadata,
    uid: 'u1',
    resourceVersion: '7',
    managedFields: [{ manager: 'loadlm-operator', operation: 'Apply', fieldsV1: { 'f:data': {} } }],
  },
});

describe('ObservabilityStack cache transforms', () => {
  const stack = stackOf({ environment, grafana: { mode: 'sidecar' } });

  it('keeps no secret value in the cache, and still sees a cached Secret as up to date', () => {
    const secret = renderSidecarDatasourceSecret(stack, [
      {
        uid: 'a',
        name: 'a',
        type: 'prometheus',
        url: 'http://a',
        access: 'proxy',
        isDefault: true,
        jsonData: {},
        secureJsonData: { basicAuthPassword: 'pw' },
      },
    ]);
    assert.ok(secret);
    const cached = cachedOwnedObject(asStored(secret));
    const encoded = secret.data['datasources.yaml'] ?? '';
    assert.ok(!JSON.stringify(cached).includes(encoded));
    assert.match((cached as { data: Record<string, string> }).data['datasources.yaml'] ?? '', /^sha256:/);
    assert.deepEqual(cached.metadata?.managedFields, [{ manager: 'loadlm-operator', operation: 'Apply' }]);
    assert.equal(needsApply(secret, cached, 'loadlm-operator', cachedOwnedObject), false);
    const changed = { ...secret, data: { 'datasources.yaml': Buffer.from('other').toString('base64') } };
    assert.equal(needsApply(changed, cached, 'loadlm-operator', cachedOwnedObject), true);
  });

  it('digests GrafanaDashboard JSON and compares rendered dashboards through the same transform', () => {
    const operatorStack = stackOf({
      environment,
      grafana: { mode: 'operator', operator: { instanceSelector: {} }, dashboards: { builtIn: ['vllm'] } },
    });
    const [dashboard] = renderGrafanaOperatorObjects(
      operatorStack,
      [],
      new Map(),
      planGrafanaContent(operatorStack),
    ).dashboards;
    assert.ok(dashboard);
    const stamped = withAppliedHash(dashboard);
    const cached = cachedOwnedObject(asStored(stamped)) as typeof dashboard;
    assert.match(cached.spec.json, /^sha256:[0-9a-f]{64}$/);
    assert.equal(needsApply(stamped, cached, 'loadlm-operator', cachedOwnedObject), false);
  });

  it('keeps of a Prometheus its identity and selectors only', () => {
    const cached = cachedPrometheus({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'Prometheus',
      metadata: {
        name: 'k8s',
        namespace: 'monitoring',
        uid: 'u',
        resourceVersion: '1',
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(10_000) },
        managedFields: [{ manager: 'helm' }],
      },
      spec: { serviceMonitorSelector: { matchLabels: { release: 'kps' } }, replicas: 2, retention: '10d' },
    } as KubeObject);
    assert.deepEqual(cached, {
      metadata: { name: 'k8s', namespace: 'monitoring', uid: 'u', resourceVersion: '1', ownerReferences: undefined },
      spec: { serviceMonitorSelector: { matchLabels: { release: 'kps' } } },
    });
  });
});
