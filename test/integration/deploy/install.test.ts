/**
 * deploy/ on a real control plane: the kustomize base and the Helm chart are applied with a server-side dry-run,
 * then for real; the pod executor runs the operator Deployment's pods (ghcr.io/loadlm/loadlm-operator →
 * `node operator/main.ts`) with their ServiceAccount's token, so RBAC applies exactly as in a cluster. Both
 * replicas get ready, one leads, and the operator installed this way runs a LoadTest against `loadlm sim` to
 * Succeeded (runner pods from the runner image). That proves the generated RBAC suffices; `kubectl auth can-i`
 * shows what it must not allow.
 *
 * A cluster of its own: the kustomize install watches every namespace and would reconcile other suites' tests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSimulator } from '../../../runner/sim/index.ts';
import type { SimulatorHandle } from '../../../runner/sim/server.ts';
import { defaultImages, type LocalCluster, type PodExecutor, startCluster, waitFor } from '../../cluster/index.ts';
import {
  canI,
  helmAvailable,
  helmTemplate,
  kustomize,
  loadTestManifest,
  type Manifest,
  runningPods,
  serverSideApply,
  toYamlStream,
  waitForLeader,
  waitForReadyReplicas,
  waitForSucceeded,
  withOperatorEnv,
} from './support/install.ts';

const operatorSelector = 'app.kubernetes.io/name=loadlm,app.kubernetes.io/component=operator';
// Runners keep /metrics up 30 s after a run by default; the tests need no scrape.
const testEnv = { LOADLM_RUNNER_LINGER: '1s', LOADLM_PROGRESS_INTERVAL: '2s' };

let cluster: LocalCluster;
let executor: PodExecutor | undefined;
let sim: SimulatorHandle | undefined;
const namespaces = {
  kustomizeTests: 'deploy-kustomize-tests',
  helmOperator: 'loadlm-helm',
  helmTests: 'deploy-helm-tests',
  helmUnwatched: 'deploy-helm-unwatched',
};

before(async () => {
  cluster = await startCluster();
  sim = await startSimulator({ port: 0, ttftMs: 20, itlMs: 2 });
  for (const namespace of Object.values(namespaces)) {
    await cluster.kubectl(['create', 'namespace', namespace]);
  }
  executor = await cluster.startPodExecutor({
    images: defaultImages(),
    namespaces: ['loadlm-system', ...Object.values(namespaces)],
  });
});

after(async () => {
  await executor?.stop();
  await sim?.close();
  await cluster?.stop();
});

/**
 * cleanupPolicy OnSuccess deletes the runner objects (deletes need RBAC too; the report stays), and no operator
 * replica logged a permission error on the way: the generated RBAC covers the whole run.
 */
async function assertCleanedUpWithoutPermissionErrors(namespace: string, loadTest: string, operatorNamespace: string) {
  await waitFor(
    `the runner Job, ServiceAccount and Role of ${loadTest} deleted by cleanup`,
    async () => {
      const { stdout } = await cluster.kubectl(['get', 'jobs,serviceaccounts,roles', '-o', 'name'], { namespace });
      return !stdout.includes('job.batch/') && !stdout.includes(`${loadTest}-runner`);
    },
    { timeoutMs: 60_000 },
  );
  for (const pod of await runningPods(cluster, operatorNamespace, operatorSelector)) {
    const logs = (await executor?.logs(operatorNamespace, pod)) ?? '';
    assert.doesNotMatch(logs, /403 Forbidden|forbidden:/, `${pod} never hit a permission error`);
  }
}

describe('kustomize: deploy/kustomize/base', () => {
  const serviceAccount = 'system:serviceaccount:loadlm-system:loadlm-operator';
  let manifests: Manifest[] = [];

  it('passes a server-side dry-run (namespace first: a dry-run creates nothing to put objects in)', async () => {
    manifests = withOperatorEnv(await kustomize(cluster), testEnv);
    const namespace = manifests.filter((manifest) => manifest.kind === 'Namespace');
    assert.deepEqual(
      namespace.map((manifest) => manifest.metadata.name),
      ['loadlm-system'],
    );
    await serverSideApply(cluster, namespace, true);
    await serverSideApply(cluster, namespace, false);
    const output = await serverSideApply(cluster, manifests, true);
    assert.match(output, /deployment\.apps\/loadlm-operator serverside-applied \(server dry run\)/);
    const { stdout } = await cluster.kubectl(['get', 'deployments', '-o', 'name'], { namespace: 'loadlm-system' });
    assert.equal(stdout.trim(), '', 'a dry-run creates nothing');
  });

  it('installs for real: two replicas get ready and exactly one leads', async () => {
    await serverSideApply(cluster, manifests, false);
    await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/loadtests.loadlm.dev']);
    await waitForReadyReplicas(cluster, 'loadlm-system', 'loadlm-operator', 2);
    const pods = await runningPods(cluster, 'loadlm-system', operatorSelector);
    assert.equal(pods.length, 2);
    const leader = await waitForLeader(cluster, 'loadlm-system', 'loadlm-operator', pods);
    assert.ok(pods.includes(leader));
  });

  it('runs a LoadTest against loadlm sim to Succeeded with the generated RBAC', async () => {
    await cluster.kubectl(['apply', '-f', '-'], {
      input: toYamlStream([loadTestManifest('via-kustomize', sim?.url ?? '')]),
      namespace: namespaces.kustomizeTests,
    });
    const lt = await waitForSucceeded(cluster, namespaces.kustomizeTests, 'via-kustomize');
    assert.equal(lt.status?.phase, 'Succeeded');
    await assertCleanedUpWithoutPermissionErrors(namespaces.kustomizeTests, 'via-kustomize', 'loadlm-system');
  });

  it('hands leadership to the standby when the leader pod is deleted', async () => {
    const pods = await runningPods(cluster, 'loadlm-system', operatorSelector);
    const leader = await waitForLeader(cluster, 'loadlm-system', 'loadlm-operator', pods);
    await cluster.kubectl(['delete', 'pod', leader, '--wait=false'], { namespace: 'loadlm-system' });
    // Another replica takes over: the standby, or the ReplicaSet's replacement pod when it starts before the
    // standby's next retry (the leader releases the Lease on SIGTERM; test/integration/loadtest/main.test.ts).
    const next = await waitFor(
      `Lease loadlm-system/loadlm-operator held by a replica other than ${leader}`,
      async () => {
        const others = (await runningPods(cluster, 'loadlm-system', operatorSelector)).filter((pod) => pod !== leader);
        const result = await cluster.kubectl(['get', 'lease', 'loadlm-operator', '-o', 'json'], {
          namespace: 'loadlm-system',
          allowFailure: true,
        });
        if (result.code !== 0) return undefined;
        const holder = (JSON.parse(result.stdout) as { spec?: { holderIdentity?: string } }).spec?.holderIdentity;
        return others.find((pod) => holder?.startsWith(`${pod}_`));
      },
      { timeoutMs: 60_000 },
    );
    assert.notEqual(next, leader);
    await waitForReadyReplicas(cluster, 'loadlm-system', 'loadlm-operator', 2);
  });

  it('does not allow what the operator never needs', async () => {
    const no = async (verb: string, resource: string, scope: Parameters<typeof canI>[4]) =>
      assert.equal(await canI(cluster, serviceAccount, verb, resource, scope), false, `${verb} ${resource}`);
    const yes = async (verb: string, resource: string, scope: Parameters<typeof canI>[4]) =>
      assert.equal(await canI(cluster, serviceAccount, verb, resource, scope), true, `${verb} ${resource}`);
    await yes('create', 'jobs.batch', { namespace: namespaces.kustomizeTests });
    await yes('update', 'leases/loadlm-operator', { namespace: 'loadlm-system' });
    await no('delete', 'namespaces', 'cluster');
    await no('update', 'namespaces', 'cluster');
    await no('delete', 'nodes', 'cluster');
    await no('create', 'pods', { namespace: namespaces.kustomizeTests });
    await no('create', 'clusterrolebindings', 'cluster');
    await no('escalate', 'roles.rbac.authorization.k8s.io', { namespace: namespaces.kustomizeTests });
    await no('bind', 'clusterroles.rbac.authorization.k8s.io', 'cluster');
    await no('impersonate', 'serviceaccounts', { namespace: namespaces.kustomizeTests });
    await no('create', 'pods/exec', { namespace: namespaces.kustomizeTests });
    await no('update', 'loadtests.loadlm.dev', { namespace: namespaces.kustomizeTests });
    await no('update', 'leases', { namespace: namespaces.kustomizeTests });
    await no('update', 'leases/other-lease', { namespace: 'loadlm-system' });
  });

  it('scales to zero before the Helm install takes over', async () => {
    await cluster.kubectl(['scale', 'deployment/loadlm-operator', '--replicas=0'], { namespace: 'loadlm-system' });
    await waitFor(
      'no operator pods left in loadlm-system',
      async () => {
        const { stdout } = await cluster.kubectl(['get', 'pods', '-l', operatorSelector, '-o', 'name'], {
          namespace: 'loadlm-system',
        });
        return stdout.trim() === '';
      },
      { timeoutMs: 60_000 },
    );
  });
});

describe('Helm: deploy/helm/loadlm, watching one namespace', { skip: helmAvailable() }, () => {
  const release = 'lh';
  const serviceAccount = `system:serviceaccount:${namespaces.helmOperator}:lh-operator`;
  let manifests: Manifest[] = [];

  it('passes a server-side dry-run', async () => {
    manifests = await helmTemplate(release, namespaces.helmOperator, [
      '--set',
      `watchNamespaces={${namespaces.helmTests}}`,
      '--set-json',
      `extraEnv=${JSON.stringify(Object.entries(testEnv).map(([name, value]) => ({ name, value })))}`,
    ]);
    const output = await serverSideApply(cluster, manifests, true);
    assert.match(output, /deployment\.apps\/lh-operator serverside-applied \(server dry run\)/);
    const { stdout } = await cluster.kubectl(['get', 'deployments', '-o', 'name'], {
      namespace: namespaces.helmOperator,
    });
    assert.equal(stdout.trim(), '');
  });

  it('installs for real: two replicas get ready and exactly one leads', async () => {
    await serverSideApply(cluster, manifests, false);
    await waitForReadyReplicas(cluster, namespaces.helmOperator, 'lh-operator', 2);
    const pods = await runningPods(cluster, namespaces.helmOperator, `app.kubernetes.io/instance=${release}`);
    assert.equal(pods.length, 2);
    await waitForLeader(cluster, namespaces.helmOperator, 'lh-operator', pods);
  });

  it('runs a LoadTest in the watched namespace to Succeeded', async () => {
    await cluster.kubectl(['apply', '-f', '-'], {
      input: toYamlStream([loadTestManifest('via-helm', sim?.url ?? '')]),
      namespace: namespaces.helmTests,
    });
    const lt = await waitForSucceeded(cluster, namespaces.helmTests, 'via-helm');
    assert.equal(lt.status?.phase, 'Succeeded');
    await assertCleanedUpWithoutPermissionErrors(namespaces.helmTests, 'via-helm', namespaces.helmOperator);
  });

  it('has no rights outside the watched namespace', async () => {
    const check = (verb: string, resource: string, scope: Parameters<typeof canI>[4]) =>
      canI(cluster, serviceAccount, verb, resource, scope);
    assert.equal(await check('create', 'jobs.batch', { namespace: namespaces.helmTests }), true);
    assert.equal(await check('create', 'jobs.batch', { namespace: namespaces.helmUnwatched }), false);
    assert.equal(await check('get', 'secrets', { namespace: namespaces.helmUnwatched }), false);
    assert.equal(await check('list', 'loadtests.loadlm.dev', 'all-namespaces'), false);
    // Cluster-scoped reads stay cluster-wide (the ObservabilityStack controller reads namespace labels).
    assert.equal(await check('get', 'namespaces', 'cluster'), true);
  });
});
