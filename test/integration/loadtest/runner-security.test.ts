/**
 * What a runner pod may do and how it runs, checked on the real control plane with the real runner: its
 * ServiceAccount can patch only its own LoadTest's result ConfigMaps and read only its start signal (asked with
 * `kubectl auth can-i --as=system:serviceaccount:...`, the apiserver's own RBAC answer), and its pods, as the
 * Job controller created them, run non-root with a read-only root filesystem, no privilege escalation, no
 * capabilities and the RuntimeDefault seccomp profile, also when the LoadTest overrides resources.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningOperator } from '../../../operator/main.ts';
import { startSimulator } from '../../../runner/sim/index.ts';
import type { SimulatorHandle } from '../../../runner/sim/server.ts';
import { fromEnv, type PodExecutor } from '../../cluster/index.ts';
import { installCrds } from '../../support/crds.ts';
import { startRunnerExecutor, startTestOperator } from '../../support/operator.ts';
import { LoadTestNamespace, loadTestManifest } from './helpers.ts';

const model = 'mistralai/Mistral-7B-Instruct-v0.3';
const overriddenResources = { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } };

const cluster = fromEnv();
let ns: LoadTestNamespace;
let otherNamespace = '';
let executor: PodExecutor | undefined;
let sim: SimulatorHandle | undefined;
let operator: RunningOperator | undefined;

before(async () => {
  await installCrds(cluster);
  ns = new LoadTestNamespace(cluster, await cluster.createNamespace('loadtest-security'));
  otherNamespace = await cluster.createNamespace('loadtest-security-other');
  sim = await startSimulator({ port: 0, ttftMs: 20, itlMs: 2, model });
  executor = await startRunnerExecutor(cluster, [ns.namespace]);
  operator = await startTestOperator(cluster, { namespaces: [ns.namespace] });
  const target = (name: string) => [{ name, url: `${sim?.url}/v1`, model }];
  // Two LoadTests side by side (each must be fenced off from the other); runner objects are kept to inspect.
  await ns.apply(loadTestManifest('alpha', target('sim'), { cleanupPolicy: 'Never' }));
  await ns.apply(
    loadTestManifest('beta', target('sim'), {
      cleanupPolicy: 'Never',
      parallelism: 2,
      runner: { resources: overriddenResources },
    }),
  );
  const [alpha, beta] = await Promise.all([ns.waitForFinished('alpha'), ns.waitForFinished('beta')]);
  assert.equal(alpha.status?.phase, 'Succeeded', JSON.stringify(alpha.status?.conditions));
  assert.equal(beta.status?.phase, 'Succeeded', JSON.stringify(beta.status?.conditions));
});

after(async () => {
  await operator?.stop();
  await executor?.stop();
  await sim?.close();
  await cluster.stop();
});

/** The apiserver's RBAC answer for a runner ServiceAccount (impersonated). */
async function runnerCan(loadTest: string, verb: string, resource: string, namespace = ns.namespace) {
  const result = await cluster.kubectl(
    ['auth', 'can-i', verb, resource, `--as=system:serviceaccount:${ns.namespace}:${loadTest}-runner`],
    { namespace, allowFailure: true },
  );
  const answer = result.stdout.trim();
  assert.ok(answer === 'yes' || answer === 'no', `kubectl auth can-i ${verb} ${resource}: ${result.stderr}`);
  return answer === 'yes';
}

interface SecurityContextJson {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}

interface RunnerPodJson {
  metadata: { name: string };
  spec: {
    serviceAccountName?: string;
    automountServiceAccountToken?: boolean;
    hostNetwork?: boolean;
    hostPID?: boolean;
    hostIPC?: boolean;
    securityContext?: SecurityContextJson;
    volumes?: { name: string; emptyDir?: object; hostPath?: object }[];
    containers: {
      name: string;
      securityContext?: SecurityContextJson;
      resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
    }[];
  };
}

async function runnerPods(loadTest: string): Promise<RunnerPodJson[]> {
  const list = await ns.getJson<{ items: RunnerPodJson[] }>(['get', 'pods', '-l', `loadlm.dev/loadtest=${loadTest}`]);
  return list.items;
}

function assertHardened(loadTest: string, pod: RunnerPodJson): void {
  const where = `pod ${pod.metadata.name}`;
  const podContext = pod.spec.securityContext ?? {};
  assert.equal(podContext.runAsNonRoot, true, `${where}: runAsNonRoot`);
  // Numeric, so the kubelet can verify non-root whatever the image's USER says.
  assert.equal(typeof podContext.runAsUser, 'number', `${where}: numeric runAsUser`);
  assert.ok((podContext.runAsUser ?? 0) > 0, `${where}: runAsUser is not root`);
  assert.ok((podContext.runAsGroup ?? 0) > 0, `${where}: runAsGroup is not root`);
  assert.deepEqual(podContext.seccompProfile, { type: 'RuntimeDefault' }, `${where}: seccomp RuntimeDefault`);
  assert.ok(!pod.spec.hostNetwork && !pod.spec.hostPID && !pod.spec.hostIPC, `${where}: no host namespaces`);
  // The runner hands results over through the API, so it needs its (least-privilege) token.
  assert.equal(pod.spec.serviceAccountName, `${loadTest}-runner`, `${where}: the LoadTest's own ServiceAccount`);
  assert.equal(pod.spec.automountServiceAccountToken, true, `${where}: token mounted for the hand-off`);
  for (const volume of pod.spec.volumes ?? []) {
    assert.ok(!volume.hostPath, `${where}: volume ${volume.name} is no hostPath`);
  }
  assert.equal(pod.spec.containers.length, 1, `${where}: one container`);
  for (const container of pod.spec.containers) {
    const context = container.securityContext ?? {};
    const what = `${where} container ${container.name}`;
    assert.equal(context.runAsNonRoot ?? podContext.runAsNonRoot, true, `${what}: runAsNonRoot`);
    assert.ok(context.runAsUser === undefined || context.runAsUser > 0, `${what}: no root runAsUser override`);
    assert.equal(context.readOnlyRootFilesystem, true, `${what}: readOnlyRootFilesystem`);
    assert.equal(context.allowPrivilegeEscalation, false, `${what}: allowPrivilegeEscalation false`);
    assert.notEqual(context.privileged, true, `${what}: not privileged`);
    assert.deepEqual(context.capabilities?.drop, ['ALL'], `${what}: drops ALL capabilities`);
    assert.deepEqual(context.capabilities?.add ?? [], [], `${what}: adds no capability`);
    assert.ok(
      context.seccompProfile === undefined || context.seccompProfile.type === 'RuntimeDefault',
      `${what}: no seccomp override`,
    );
  }
}

describe('runner pods are hardened', () => {
  it('run non-root, read-only, unprivileged, with RuntimeDefault seccomp and only their own token', async () => {
    const pods = await runnerPods('alpha');
    assert.equal(pods.length, 1, 'the runner pod is kept (cleanupPolicy Never)');
    for (const pod of pods) assertHardened('alpha', pod);
  });

  it('keep all of it when the LoadTest overrides resources, which apply as given', async () => {
    const pods = await runnerPods('beta');
    assert.equal(pods.length, 2, 'parallelism 2');
    for (const pod of pods) {
      assertHardened('beta', pod);
      assert.deepEqual(pod.spec.containers[0]?.resources, overriddenResources, `pod ${pod.metadata.name} resources`);
    }
  });
});

describe('runner RBAC is least privilege', () => {
  it('a runner may patch its own result ConfigMaps and read its start signal', async () => {
    assert.equal(await runnerCan('alpha', 'patch', 'configmaps/alpha-result-0'), true);
    for (const verb of ['get', 'list', 'watch']) {
      assert.equal(await runnerCan('alpha', verb, 'configmaps/alpha-start'), true, `${verb} its start signal`);
    }
    assert.equal(await runnerCan('beta', 'patch', 'configmaps/beta-result-0'), true);
    assert.equal(await runnerCan('beta', 'patch', 'configmaps/beta-result-1'), true);
  });

  it('a runner cannot read Secrets, create objects, or write anything but its result ConfigMaps', async () => {
    const denied: [string, string][] = [
      ['get', 'secrets'],
      ['list', 'secrets'],
      ['watch', 'secrets'],
      ['create', 'pods'],
      ['create', 'pods/exec'],
      ['create', 'configmaps'],
      ['list', 'configmaps'],
      ['get', 'configmaps/alpha-runner-config'],
      ['get', 'configmaps/alpha-report'],
      ['update', 'configmaps/alpha-result-0'],
      ['delete', 'configmaps/alpha-result-0'],
      ['get', 'configmaps/alpha-result-0'],
      ['patch', 'configmaps/alpha-start'],
      ['patch', 'configmaps/alpha-result-1'],
      ['get', 'loadtests.loadlm.dev/alpha'],
      ['patch', 'loadtests.loadlm.dev/alpha'],
      ['patch', 'loadtests.loadlm.dev/alpha/status'],
      ['create', 'jobs.batch'],
      ['delete', 'jobs.batch/alpha-runners'],
      ['create', 'serviceaccounts/token'],
      ['create', 'rolebindings.rbac.authorization.k8s.io'],
      ['patch', 'roles.rbac.authorization.k8s.io/alpha-runner'],
      ['create', 'events'],
    ];
    for (const [verb, resource] of denied) {
      assert.equal(await runnerCan('alpha', verb, resource), false, `alpha's runner must not ${verb} ${resource}`);
    }
  });

  it("a runner cannot touch another LoadTest's ConfigMaps or anything in another namespace", async () => {
    for (const [verb, resource] of [
      ['patch', 'configmaps/beta-result-0'],
      ['patch', 'configmaps/beta-result-1'],
      ['get', 'configmaps/beta-start'],
      ['list', 'configmaps/beta-start'],
    ] as const) {
      assert.equal(await runnerCan('alpha', verb, resource), false, `alpha's runner must not ${verb} ${resource}`);
    }
    assert.equal(await runnerCan('beta', 'patch', 'configmaps/alpha-result-0'), false);
    assert.equal(await runnerCan('beta', 'get', 'configmaps/alpha-start'), false);
    assert.equal(await runnerCan('alpha', 'patch', 'configmaps/alpha-result-0', otherNamespace), false);
    assert.equal(await runnerCan('alpha', 'get', 'configmaps/alpha-start', otherNamespace), false);
  });

  it('the rules a runner holds are exactly its result patch and start-signal read', async () => {
    // What `kubectl auth can-i --list` shows, as JSON: a SelfSubjectRulesReview made as the runner.
    const { stdout } = await cluster.kubectl(
      ['create', '--validate=false', '-f', '-', '-o', 'json', `--as=system:serviceaccount:${ns.namespace}:beta-runner`],
      {
        input: JSON.stringify({
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectRulesReview',
          spec: { namespace: ns.namespace },
        }),
      },
    );
    const review = (
      JSON.parse(stdout) as {
        status: {
          resourceRules?: { verbs: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[] }[];
        };
      }
    ).status;
    // What every authenticated identity gets (self reviews) is not the runner's Role.
    const selfReviews = new Set(['selfsubjectreviews', 'selfsubjectaccessreviews', 'selfsubjectrulesreviews']);
    const rules = (review.resourceRules ?? [])
      .filter((rule) => !(rule.resources ?? []).every((resource) => selfReviews.has(resource)))
      .map((rule) => ({
        verbs: [...rule.verbs].sort(),
        resources: rule.resources,
        resourceNames: [...(rule.resourceNames ?? [])].sort(),
      }))
      .sort((a, b) => a.verbs.join().localeCompare(b.verbs.join()));
    assert.deepEqual(rules, [
      { verbs: ['get', 'list', 'watch'], resources: ['configmaps'], resourceNames: ['beta-start'] },
      { verbs: ['patch'], resources: ['configmaps'], resourceNames: ['beta-result-0', 'beta-result-1'] },
    ]);
  });
});
