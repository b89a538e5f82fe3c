/** Which Secrets a stack may own, found without listing, and when a Secret needs applying (owned-secrets.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  possibleOwnedSecrets,
  recordedOwnedSecrets,
  secretManagedObjects,
  secretNeedsApply,
} from '../../../operator/observability/owned-secrets.ts';
import type { KubeObject } from '../../../operator/runtime/resources.ts';
import { stackOf } from './stack-fixtures.ts';

const secret = (data: Record<string, string>, manager = 'loadlm-operator'): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'dev-grafana-datasources',
      namespace: 'monitoring',
      labels: { grafana_datasource: '1' },
      managedFields: [{ manager, operation: 'Apply' }],
    },
    type: 'Opaque',
    data,
  }) as KubeObject;

describe('owned Secrets', () => {
  it('names the Secrets either Grafana mode could create, in the namespaces the spec gives', () => {
    const sidecar = stackOf({
      environment: { cluster: 'c' },
      grafana: { mode: 'sidecar', sidecar: { namespace: 'monitoring' } },
    });
    assert.deepEqual(possibleOwnedSecrets(sidecar), [
      { namespace: 'monitoring', name: 'dev-grafana-datasources' },
      { namespace: 'apps', name: 'dev-grafana-datasource-auth' },
    ]);
    const operator = stackOf({
      environment: { cluster: 'c' },
      grafana: { mode: 'operator', operator: { instanceSelector: {}, namespace: 'grafana' } },
    });
    assert.deepEqual(possibleOwnedSecrets(operator), [
      { namespace: 'apps', name: 'dev-grafana-datasources' },
      { namespace: 'grafana', name: 'dev-grafana-datasource-auth' },
    ]);
    const defaults = stackOf({ environment: { cluster: 'c' } });
    assert.deepEqual(possibleOwnedSecrets(defaults), [
      { namespace: 'apps', name: 'dev-grafana-datasources' },
      { namespace: 'apps', name: 'dev-grafana-datasource-auth' },
    ]);
  });

  it('reads the recorded Secrets back from status.managedObjects, and only those', () => {
    const recorded = secretManagedObjects([{ namespace: 'old', name: 'dev-grafana-datasources' }]);
    const stack = {
      status: {
        managedObjects: [
          ...recorded,
          { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'old', name: 'dev-dashboard-vllm' },
          { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', namespace: 'old', name: 'dev-vllm' },
        ],
      },
    };
    assert.deepEqual(recordedOwnedSecrets(stack), [{ namespace: 'old', name: 'dev-grafana-datasources' }]);
    assert.deepEqual(recordedOwnedSecrets({}), []);
  });

  it('applies a Secret only when its data, keys or ownership differ', () => {
    const desired = secret({ 'datasources.yaml': 'YQ==' });
    (desired.metadata as { managedFields?: unknown }).managedFields = undefined;
    assert.equal(secretNeedsApply(desired, secret({ 'datasources.yaml': 'YQ==' }), 'loadlm-operator'), false);
    assert.equal(secretNeedsApply(desired, secret({ 'datasources.yaml': 'Yg==' }), 'loadlm-operator'), true);
    assert.equal(
      secretNeedsApply(desired, secret({ 'datasources.yaml': 'YQ==', extra: 'eA==' }), 'loadlm-operator'),
      true,
      'a key no longer wanted',
    );
    assert.equal(
      secretNeedsApply(desired, secret({ 'datasources.yaml': 'YQ==' }, 'kubectl'), 'loadlm-operator'),
      true,
      'not applied by us yet',
    );
  });
});
