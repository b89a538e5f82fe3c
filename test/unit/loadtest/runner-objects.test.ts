import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseQuantity } from '../../../api/quantity.ts';
import {
  expectedRunners,
  handoffRunnerFlags,
  jobActiveDeadlineSeconds,
  renderResultPlaceholders,
  renderRunnerJob,
  renderRunnerRbac,
  renderRunnerService,
  renderStartSignal,
  runnerJobName,
  runnerResources,
} from '../../../operator/loadtest/desired/index.ts';
import { parseFlags } from '../../../runner/cli/args.ts';
import { runCommand } from '../../../runner/cli/run-flags.ts';
import { runOptionsFromFlags } from '../../../runner/cli/run-options.ts';
import { parseStartSignal } from '../../../runner/handoff/protocol.ts';
import { loadTest, uid } from './fixtures.ts';

const image = 'ghcr.io/loadlm/loadlm:0.1.0';
const owner = {
  apiVersion: 'loadlm.dev/v1alpha1',
  kind: 'LoadTest',
  name: 'nightly',
  uid,
  controller: true,
  blockOwnerDeletion: true,
};
const labels = {
  'app.kubernetes.io/name': 'loadlm',
  'app.kubernetes.io/instance': 'nightly',
  'app.kubernetes.io/component': 'runner',
  'app.kubernetes.io/part-of': 'loadlm',
  'app.kubernetes.io/managed-by': 'loadlm-operator',
  'loadlm.dev/loadtest': 'nightly',
};

/** Expands `$(VAR)` as the kubelet does, with literal stand-ins for downward-API values. */
function expand(args: string[], env: Record<string, string>): string[] {
  return args.map((arg) => arg.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) => env[name] ?? m));
}

describe('renderRunnerJob', () => {
  it('renders an Indexed Job that runs each runner exactly once, bounded in time', () => {
    const lt = loadTest({ parallelism: 3 });
    const job = renderRunnerJob(lt, { image });
    assert.equal(job.apiVersion, 'batch/v1');
    assert.equal(job.kind, 'Job');
    assert.deepEqual(job.metadata, {
      name: 'nightly-runners',
      namespace: 'bench',
      labels,
      ownerReferences: [owner],
    });
    const spec = job.spec;
    assert.equal(spec.completionMode, 'Indexed');
    assert.equal(spec.completions, 3);
    assert.equal(spec.parallelism, 3);
    assert.equal(spec.backoffLimit, 0);
    assert.equal('ttlSecondsAfterFinished' in spec, false);
    // 300 s startup + 5 s lead + 300 s run + 30 s (10%) + 300 s drain + 30 s linger + 30 s grace + 15 s flush.
    assert.equal(spec.activeDeadlineSeconds, 1010);
    const pod = spec.template.spec;
    assert.equal(pod.restartPolicy, 'Never');
    assert.equal(pod.terminationGracePeriodSeconds, 45);
    assert.equal(pod.serviceAccountName, 'nightly-runner');
    assert.equal(pod.automountServiceAccountToken, true);
    assert.deepEqual(pod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.deepEqual(spec.template.metadata.labels, labels);
    const [container] = pod.containers;
    assert.ok(container);
    assert.equal(container.image, image);
    assert.deepEqual(container.securityContext, {
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    assert.equal(container.terminationMessagePolicy, 'FallbackToLogsOnError');
    assert.deepEqual(container.ports, [{ name: 'metrics', containerPort: 9090, protocol: 'TCP' }]);
    assert.deepEqual(container.readinessProbe?.httpGet, { path: '/readyz', port: 'metrics' });
    assert.deepEqual(container.resources, { requests: { cpu: '500m', memory: '256Mi' }, limits: { memory: '1Gi' } });
    assert.deepEqual(container.volumeMounts, [{ name: 'tmp', mountPath: '/tmp' }]);
    assert.deepEqual(pod.volumes, [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]);
    assert.deepEqual(container.args, [
      'run',
      '--config-env=LOADLM_CONFIG',
      '--shard=$(JOB_COMPLETION_INDEX)/3',
      '--result-configmap=nightly-result-$(JOB_COMPLETION_INDEX)',
      '--start-signal=nightly-start',
      '--start-timeout=300s',
      '--metrics-host=$(POD_IP)',
      '--metrics-port=9090',
      '--linger=30s',
      '--grace-period=30s',
      '--progress=lines',
      '--progress-interval=10s',
      '--log-level=info',
    ]);
  });

  it('defines every $(VAR) before use: the index first, identity from the downward API, keys from Secrets', () => {
    const lt = loadTest({
      targets: [
        {
          name: 'mistral-7b',
          url: 'http://m:8012/v1',
          model: 'm',
          apiKeySecretRef: { name: 'mistral-api-key', key: 'api-key' },
        },
      ],
      runner: {
        env: [
          { name: 'NODE_OPTIONS', value: '--max-semi-space-size=32' },
          { name: 'LOADLM_CONFIG', value: 'hijack' },
          { name: 'LOADLM_API_KEY_0', value: 'plain-text-key' },
        ],
      },
    });
    const env = renderRunnerJob(lt, { image }).spec.template.spec.containers[0]?.env ?? [];
    assert.deepEqual(env, [
      {
        name: 'JOB_COMPLETION_INDEX',
        valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } },
      },
      { name: 'LOADLM_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'LOADLM_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'LOADLM_LOADTEST_NAME', value: 'nightly' },
      { name: 'LOADLM_LOADTEST_UID', value: uid },
      { name: 'LOADLM_CONFIG', valueFrom: { configMapKeyRef: { name: 'nightly-runner-config', key: 'config.yaml' } } },
      { name: 'LOADLM_API_KEY_0', valueFrom: { secretKeyRef: { name: 'mistral-api-key', key: 'api-key' } } },
      // spec.runner.env comes last and cannot replace ours (nor smuggle a key in as a literal).
      { name: 'NODE_OPTIONS', value: '--max-semi-space-size=32' },
    ]);
    const names = env.map((v) => v.name);
    assert.equal(new Set(names).size, names.length, 'no duplicate env names (server-side apply rejects them)');
  });

  it("passes args the runner's flag parser accepts once the hand-off flags exist", () => {
    const lt = loadTest({ parallelism: 4 });
    const args = renderRunnerJob(lt, { image }).spec.template.spec.containers[0]?.args ?? [];
    const expanded = expand(args, { JOB_COMPLETION_INDEX: '2', POD_IP: '127.0.3.4' });
    assert.equal(
      expanded.some((arg) => arg.includes('$(')),
      false,
      `every $(VAR) is defined: ${expanded.join(' ')}`,
    );
    const pending = new Set<string>(handoffRunnerFlags);
    const existing = expanded.slice(1).filter((arg) => !pending.has(arg.replace(/^--/, '').split('=')[0] ?? ''));
    const options = runOptionsFromFlags(parseFlags(runCommand, existing));
    assert.deepEqual(options.overrides.engine?.share, { index: 2, count: 4 });
    assert.equal(options.metrics.host, '127.0.3.4');
    assert.equal(options.metrics.port, 9090);
    assert.equal(options.metrics.lingerSeconds, 30);
    assert.equal(options.mode.gracePeriodSeconds, 30);
  });

  it('runs targets × parallelism runners and assigns targets by index when there are several', () => {
    const lt = loadTest({
      targets: [
        { name: 'a', url: 'http://a:8000/v1', model: 'm' },
        { name: 'b', url: 'http://b:8000/v1', model: 'm' },
      ],
      parallelism: 2,
    });
    const job = renderRunnerJob(lt, { image });
    assert.equal(job.spec.completions, 4);
    assert.equal(job.spec.parallelism, 4);
    const args = job.spec.template.spec.containers[0]?.args ?? [];
    assert.ok(args.includes('--job-index=$(JOB_COMPLETION_INDEX)'));
    assert.ok(args.includes('--runners-per-target=2'));
    assert.equal(
      args.some((arg) => arg.startsWith('--shard')),
      false,
    );
    assert.deepEqual(
      expectedRunners(lt).assignments.map((a) => `${a.target}:${a.shard.index}/${a.shard.count}`),
      ['a:0/2', 'a:1/2', 'b:0/2', 'b:1/2'],
    );
  });

  it('keeps pod hostnames within 63 characters for the longest names and most runners', () => {
    const name = 'a'.repeat(52);
    const targets = Array.from({ length: 8 }, (_, i) => ({ name: `t${i}`, url: `http://t${i}:8000/v1`, model: 'm' }));
    const lt = loadTest(
      { targets, parallelism: 100, load: { profile: 'constant', rate: 800, durationSeconds: 60 } },
      { name },
    );
    const job = renderRunnerJob(lt, { image });
    assert.equal(job.spec.completions, 800);
    assert.equal(job.metadata.name, `${name}-run`);
    assert.ok(`${job.metadata.name}-799`.length <= 63);
    assert.equal(runnerJobName(name, 100), `${name}-runners`);
    assert.equal(`${name}-runners-99`.length, 63);
  });

  it('applies spec.runner overrides: image, pull policy, resources, scheduling, ServiceAccount, pod metadata', () => {
    const lt = loadTest({
      runner: {
        image: 'registry.example/loadlm:dev',
        imagePullPolicy: 'Always',
        imagePullSecrets: [{ name: 'regcred' }],
        resources: { requests: { cpu: '1', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } },
        nodeSelector: { 'node-pool': 'load-generators' },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'load-generators', effect: 'NoSchedule' }],
        serviceAccountName: 'team-runner',
        priorityClassName: 'batch-low',
        podLabels: { team: 'inference', 'loadlm.dev/loadtest': 'spoofed' },
        podAnnotations: { 'example.com/trace': 'on' },
      },
      data: {
        dataset: { configMapRef: { name: 'prompts', key: 'sharegpt.jsonl' } },
        outputTokens: { type: 'fixed', value: 64 },
      },
    });
    const job = renderRunnerJob(lt, { image });
    const pod = job.spec.template.spec;
    const container = pod.containers[0];
    assert.equal(container?.image, 'registry.example/loadlm:dev');
    assert.equal(container?.imagePullPolicy, 'Always');
    assert.deepEqual(pod.imagePullSecrets, [{ name: 'regcred' }]);
    assert.deepEqual(container?.resources, {
      requests: { cpu: '1', memory: '512Mi' },
      limits: { memory: '2Gi', cpu: '2' },
    });
    assert.deepEqual(pod.nodeSelector, { 'node-pool': 'load-generators' });
    assert.deepEqual(pod.tolerations, [
      { key: 'dedicated', operator: 'Equal', value: 'load-generators', effect: 'NoSchedule' },
    ]);
    assert.equal(pod.serviceAccountName, 'team-runner');
    assert.equal(pod.priorityClassName, 'batch-low');
    assert.equal(job.spec.template.metadata.labels.team, 'inference');
    assert.equal(job.spec.template.metadata.labels['loadlm.dev/loadtest'], 'nightly');
    assert.deepEqual(job.spec.template.metadata.annotations, { 'example.com/trace': 'on' });
    assert.deepEqual(pod.volumes?.[1], {
      name: 'dataset',
      configMap: { name: 'prompts', items: [{ key: 'sharegpt.jsonl', path: 'sharegpt.jsonl' }] },
    });
    assert.deepEqual(container?.volumeMounts?.[1], {
      name: 'dataset',
      mountPath: '/etc/loadlm/dataset',
      readOnly: true,
    });
  });

  it('uses spec.activeDeadlineSeconds when given, else a deadline that covers startup, the run and the drain', () => {
    assert.equal(jobActiveDeadlineSeconds(loadTest({ activeDeadlineSeconds: 1200 })), 1200);
    const onlyRequests = loadTest({ load: { profile: 'throughput', concurrency: 4, maxRequests: 100 } });
    assert.ok(jobActiveDeadlineSeconds(onlyRequests) > 24 * 3600);
    const timings = { gracePeriodSeconds: 5, flushSeconds: 5, metricsLingerSeconds: 0, startLeadSeconds: 2 };
    const short = renderRunnerJob(loadTest({ load: { profile: 'constant', rate: 1, durationSeconds: 20 } }), {
      image,
      timings,
    });
    assert.equal(short.spec.activeDeadlineSeconds, 300 + 2 + 20 + 2 + 300 + 0 + 5 + 5);
    assert.equal(short.spec.template.spec.terminationGracePeriodSeconds, 10);
  });
});

describe('runnerResources', () => {
  it('overrides defaults key by key and keeps requests ≤ limits when only one side is given', () => {
    assert.deepEqual(runnerResources(undefined), {
      requests: { cpu: '500m', memory: '256Mi' },
      limits: { memory: '1Gi' },
    });
    assert.deepEqual(runnerResources({ requests: { memory: '2Gi' } }), {
      requests: { cpu: '500m', memory: '2Gi' },
      limits: { memory: '2Gi' },
    });
    assert.deepEqual(runnerResources({ limits: { cpu: '250m', memory: '128Mi' } }), {
      requests: { cpu: '250m', memory: '128Mi' },
      limits: { cpu: '250m', memory: '128Mi' },
    });
  });

  it('writes integer quantities as the strings the apiserver returns', () => {
    assert.deepEqual(runnerResources({ limits: { cpu: 2 } }).limits, { memory: '1Gi', cpu: '2' });
  });

  it('parses Kubernetes quantities', () => {
    assert.equal(parseQuantity('500m'), 0.5);
    assert.equal(parseQuantity('1Gi'), 2 ** 30);
    assert.equal(parseQuantity('1.5G'), 1.5e9);
    assert.equal(parseQuantity('1e3'), 1000);
    assert.equal(parseQuantity(2), 2);
    assert.ok(Number.isNaN(parseQuantity('1mi')));
  });
});

describe('renderRunnerService', () => {
  it('is a headless Service over the runner pods, port metrics, labelled for the ServiceMonitor', () => {
    const service = renderRunnerService(loadTest());
    assert.deepEqual(service, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'nightly-runners',
        namespace: 'bench',
        labels: { ...labels, 'loadlm.dev/metrics': 'true' },
        ownerReferences: [owner],
      },
      spec: {
        clusterIP: 'None',
        selector: { 'loadlm.dev/loadtest': 'nightly', 'app.kubernetes.io/component': 'runner' },
        ports: [{ name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' }],
      },
    });
    const podLabels = renderRunnerJob(loadTest(), { image }).spec.template.metadata.labels;
    for (const [key, value] of Object.entries(service.spec.selector)) assert.equal(podLabels[key], value);
  });
});

describe('renderRunnerRbac', () => {
  it('grants patch on the result ConfigMaps and read on the start signal, by name, and nothing else', () => {
    const rbac = renderRunnerRbac(loadTest({ parallelism: 3 }));
    assert.deepEqual(rbac.serviceAccount, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'nightly-runner', namespace: 'bench', labels, ownerReferences: [owner] },
    });
    assert.deepEqual(rbac.role.rules, [
      {
        apiGroups: [''],
        resources: ['configmaps'],
        verbs: ['patch'],
        resourceNames: ['nightly-result-0', 'nightly-result-1', 'nightly-result-2'],
      },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'], resourceNames: ['nightly-start'] },
    ]);
    assert.equal(
      rbac.role.rules.some((rule) => rule.verbs.includes('create') || !rule.resourceNames),
      false,
    );
    assert.deepEqual(rbac.roleBinding.roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'nightly-runner',
    });
    assert.deepEqual(rbac.roleBinding.subjects, [
      { kind: 'ServiceAccount', name: 'nightly-runner', namespace: 'bench' },
    ]);
  });

  it('binds a ServiceAccount named in spec.runner instead of creating one', () => {
    const rbac = renderRunnerRbac(loadTest({ runner: { serviceAccountName: 'team-runner' } }));
    assert.equal(rbac.serviceAccount, undefined);
    assert.deepEqual(rbac.roleBinding.subjects, [{ kind: 'ServiceAccount', name: 'team-runner', namespace: 'bench' }]);
  });
});

describe('hand-off ConfigMaps', () => {
  it('pre-creates one labelled, owned result ConfigMap per runner, without data', () => {
    const placeholders = renderResultPlaceholders(loadTest({ parallelism: 2 }));
    assert.deepEqual(
      placeholders.map((cm) => [cm.metadata.name, cm.metadata.labels['loadlm.dev/runner-index'], 'data' in cm]),
      [
        ['nightly-result-0', '0', false],
        ['nightly-result-1', '1', false],
      ],
    );
    assert.equal(placeholders[0]?.metadata.labels['loadlm.dev/result'], 'true');
    assert.deepEqual(placeholders[0]?.metadata.ownerReferences, [owner]);
  });

  it('writes a start signal the runners parse back to the same instant, or an abort with its reason', () => {
    const startAtMs = Date.parse('2025-06-01T10:05:00.250Z');
    const start = renderStartSignal(loadTest(), { kind: 'start', startAtMs });
    assert.equal(start.metadata.name, 'nightly-start');
    assert.deepEqual(start.data, { phase: 'Start', startAt: '2025-06-01T10:05:00.250Z' });
    assert.deepEqual(parseStartSignal(start), { kind: 'start', startAtMs });
    const abort = renderStartSignal(loadTest(), { kind: 'abort', reason: 'ImagePullBackOff', message: 'runner 1 …' });
    assert.deepEqual(parseStartSignal(abort), { kind: 'abort', reason: 'ImagePullBackOff', message: 'runner 1 …' });
  });
});
