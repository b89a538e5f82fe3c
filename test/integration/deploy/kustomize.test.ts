/** The kustomize base and the watch-namespaces overlay render as documented (`kubectl kustomize`). */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fromEnv, repoRoot } from '../../cluster/index.ts';
import { kustomize, type Manifest } from './support/install.ts';

const cluster = fromEnv();
const env = (manifests: Manifest[], name: string) => {
  const deployment = manifests.find((manifest) => manifest.kind === 'Deployment') as
    | (Manifest & { spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } })
    | undefined;
  return deployment?.spec.template.spec.containers[0]?.env.find((variable) => variable.name === name)?.value;
};

describe('kustomize', () => {
  it('base: namespace, CRDs, RBAC, operator, PDB and metrics Service, everything in loadlm-system', async () => {
    const manifests = await kustomize(cluster);
    const kinds = new Set(manifests.map((manifest) => manifest.kind));
    for (const kind of [
      'Namespace',
      'CustomResourceDefinition',
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
      'Role',
      'RoleBinding',
      'Deployment',
      'PodDisruptionBudget',
      'Service',
    ]) {
      assert.ok(kinds.has(kind), `the base has a ${kind}`);
    }
    const namespaced = manifests.filter((manifest) =>
      ['ServiceAccount', 'Role', 'RoleBinding', 'Deployment', 'PodDisruptionBudget', 'Service'].includes(manifest.kind),
    );
    assert.deepEqual([...new Set(namespaced.map((manifest) => manifest.metadata.namespace))], ['loadlm-system']);
    assert.equal(env(manifests, 'LOADLM_NAMESPACES'), '');
  });

  it('overlays/watch-namespaces: RoleBindings in the watched namespaces instead of the cluster-wide binding', async () => {
    const manifests = await kustomize(cluster, join(repoRoot, 'deploy', 'kustomize', 'overlays', 'watch-namespaces'));
    const bindings = manifests.filter(
      (manifest) => manifest.kind === 'RoleBinding' && manifest.metadata.name === 'loadlm-operator',
    );
    assert.deepEqual(bindings.map((binding) => binding.metadata.namespace).sort(), ['team-a', 'team-b']);
    const clusterBindings = manifests.filter((manifest) => manifest.kind === 'ClusterRoleBinding');
    assert.deepEqual(
      clusterBindings.map((binding) => binding.metadata.name),
      ['loadlm-operator-cluster'],
    );
    assert.equal(env(manifests, 'LOADLM_NAMESPACES'), 'team-a,team-b');
    assert.equal(env(manifests, 'LOADLM_RUNNER_IMAGE'), 'ghcr.io/loadlm/loadlm:0.1.0');
  });
});
