/**
 * The Helm chart: `helm lint --strict`, `helm template` with defaults and with the usual values, and the RBAC it
 * renders equals the kustomize base's (both come from operator/rbac.ts). helm is built by test/tools/helm.sh.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromEnv } from '../../cluster/index.ts';
import { chartDir, helm, helmAvailable, helmTemplate, kustomize, type Manifest } from './support/install.ts';

const rbacKinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

/** What RBAC decides on: kind, name, namespace, rules, roleRef, subjects (labels differ by tool). */
function rbacOf(manifests: Manifest[]) {
  return manifests
    .filter((manifest) => rbacKinds.has(manifest.kind))
    .map(({ kind, metadata, rules, roleRef, subjects }) => ({
      kind,
      name: metadata.name,
      namespace: metadata.namespace,
      rules,
      roleRef,
      subjects,
    }))
    .sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`));
}

type Deployment = Manifest & {
  spec: {
    replicas: number;
    template: {
      spec: {
        securityContext: Record<string, unknown>;
        nodeSelector?: Record<string, string>;
        tolerations?: unknown[];
        containers: {
          image: string;
          imagePullPolicy: string;
          env: { name: string; value?: string }[];
          resources: unknown;
          securityContext: Record<string, unknown>;
        }[];
      };
    };
  };
};

const find = (manifests: Manifest[], kind: string) => manifests.filter((manifest) => manifest.kind === kind);
const env = (deployment: Deployment, name: string) =>
  deployment.spec.template.spec.containers[0]?.env.find((variable) => variable.name === name)?.value;

describe('Helm chart deploy/helm/loadlm', { skip: helmAvailable() }, () => {
  it('passes helm lint --strict', async () => {
    const output = await helm(['lint', '--strict', chartDir]);
    assert.match(output, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders the defaults: 2 replicas, leader election, cluster-wide, hardened pod, PDB, metrics Service', async () => {
    const manifests = await helmTemplate('loadlm', 'loadlm-system');
    const [deployment] = find(manifests, 'Deployment') as Deployment[];
    assert.ok(deployment);
    assert.equal(deployment.spec.replicas, 2);
    const container = deployment.spec.template.spec.containers[0];
    assert.equal(container?.image, 'ghcr.io/loadlm/loadlm-operator:0.1.0');
    assert.equal(env(deployment, 'LOADLM_NAMESPACES'), '');
    assert.equal(env(deployment, 'LOADLM_RUNNER_IMAGE'), 'ghcr.io/loadlm/loadlm:0.1.0');
    assert.deepEqual(container?.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    assert.equal(deployment.spec.template.spec.securityContext.runAsUser, 65532);
    assert.equal(find(manifests, 'PodDisruptionBudget').length, 1);
    assert.equal(find(manifests, 'Service').length, 1);
    assert.equal(find(manifests, 'ServiceMonitor').length, 0);
    assert.equal(find(manifests, 'ClusterRoleBinding').length, 2);
  });

  it('renders the usual values: image, namespaces, resources, log level, ServiceMonitor, scheduling', async () => {
    const manifests = await helmTemplate('loadlm', 'ops', [
      '--set',
      'image.repository=registry.example/loadlm-operator,image.tag=9.9.9,image.pullPolicy=Always',
      '--set',
      'watchNamespaces={team-a,team-b},logLevel=debug,replicas=3',
      '--set',
      'metrics.serviceMonitor.enabled=true,metrics.serviceMonitor.labels.release=kube-prometheus-stack',
      '--set',
      'resources.limits.memory=1Gi,nodeSelector.pool=ops',
      '--set-json',
      'tolerations=[{"key":"dedicated","operator":"Exists","effect":"NoSchedule"}]',
    ]);
    const [deployment] = find(manifests, 'Deployment') as Deployment[];
    assert.ok(deployment);
    const container = deployment.spec.template.spec.containers[0];
    assert.equal(container?.image, 'registry.example/loadlm-operator:9.9.9');
    assert.equal(container?.imagePullPolicy, 'Always');
    assert.equal(deployment.spec.replicas, 3);
    assert.equal(env(deployment, 'LOADLM_NAMESPACES'), 'team-a,team-b');
    assert.equal(env(deployment, 'LOADLM_LOG_LEVEL'), 'debug');
    assert.deepEqual(container?.resources, { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '1Gi' } });
    assert.deepEqual(deployment.spec.template.spec.nodeSelector, { pool: 'ops' });
    assert.equal(deployment.spec.template.spec.tolerations?.length, 1);
    // Watched namespaces: a RoleBinding in each, no cluster-wide binding of the controllers' role.
    const bindings = find(manifests, 'RoleBinding').map((binding) => binding.metadata.namespace);
    assert.deepEqual(bindings.sort(), ['ops', 'team-a', 'team-b']);
    assert.deepEqual(
      find(manifests, 'ClusterRoleBinding').map((binding) => binding.metadata.name),
      ['loadlm-operator-cluster'],
    );
    const [monitor] = find(manifests, 'ServiceMonitor');
    assert.equal(monitor?.metadata.labels?.release, 'kube-prometheus-stack');
  });

  it('refuses several replicas without leader election', async () => {
    await assert.rejects(
      helmTemplate('loadlm', 'ops', ['--set', 'leaderElection.enabled=false']),
      /replicas > 1 needs leaderElection.enabled/,
    );
    const single = await helmTemplate('loadlm', 'ops', ['--set', 'leaderElection.enabled=false,replicas=1']);
    assert.equal(find(single, 'Role').length, 0);
    assert.equal(find(single, 'PodDisruptionBudget').length, 0);
  });

  it('rejects mistyped values through values.schema.json, naming the value', async () => {
    await assert.rejects(
      helmTemplate('loadlm', 'ops', ['--set', 'watchNamespace=team-a']),
      /additional properties 'watchNamespace' not allowed/,
    );
    await assert.rejects(helmTemplate('loadlm', 'ops', ['--set', 'logLevel=loud']), /\/logLevel/);
    await assert.rejects(helmTemplate('loadlm', 'ops', ['--set', 'watchNamespaces={Team_A}']), /\/watchNamespaces\/0/);
  });

  it('renders the same RBAC as the kustomize base', async () => {
    const fromHelm = rbacOf(await helmTemplate('loadlm', 'loadlm-system'));
    const fromKustomize = rbacOf(await kustomize(fromEnv()));
    assert.ok(fromHelm.length >= 7);
    assert.deepEqual(fromHelm, fromKustomize);
  });
});
