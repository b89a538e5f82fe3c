/**
 * The examples that are not single LoadTests or ObservabilityStacks, against the real apiserver: the continuous
 * in-cluster runner (Deployment, Service, ServiceMonitor) and the GitOps overlays, each with `kubectl apply -k`
 * as server-side dry-run and then for real. The continuous runner also runs: the Deployment controller makes its
 * pod, the pod executor runs the real runner against `loadlm sim`, and its /metrics counts requests. Last, a check
 * that every YAML file under examples/ is applied by some test.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSimulator } from '../../../runner/sim/index.ts';
import { defaultImages, fromEnv, waitFor } from '../../cluster/index.ts';
import { installCrds } from '../../support/crds.ts';
import { installThirdPartyCrds } from '../../support/third-party-crds.ts';
import { loadExamples } from '../../unit/api/cases.ts';
import { describeUncovered, examplesDir, exampleYamlFiles, filesOfKustomization } from './kustomizations.ts';

/** Every kustomization this file applies; the coverage check counts the files they read as applied. */
const appliedKustomizations = ['continuous-runner', 'gitops/overlays/development', 'gitops/overlays/staging'];
const continuousRunnerDir = join(examplesDir, 'continuous-runner');
const inClusterUrl = 'http://mistral-7b-predictor.development.svc.cluster.local:8012/v1/chat/completions';

const cluster = fromEnv();

// biome-ignore lint/suspicious/noExplicitAny: API objects are read field by field in assertions
type Json = Record<string, any>;

async function getJson(namespace: string, args: string[]): Promise<Json> {
  return JSON.parse((await cluster.kubectl(['get', ...args, '-o', 'json'], { namespace })).stdout) as Json;
}

/** `kubectl apply -k DIR` as a server-side dry run and then for real; returns the applied objects' names. */
async function applyKustomization(dir: string, namespace: string): Promise<string[]> {
  const args = ['apply', '--validate=strict', '-k', dir, '-o', 'name'];
  const dryRun = await cluster.kubectl([...args, '--dry-run=server'], { namespace });
  const applied = await cluster.kubectl(args, { namespace });
  const names = applied.stdout.trim().split('\n').sort();
  assert.deepEqual(dryRun.stdout.trim().split('\n').sort(), names, 'the dry run and the real apply agree');
  return names;
}

before(async () => {
  await installCrds(cluster);
  await installThirdPartyCrds(cluster, 'prometheusOperator', { plurals: ['servicemonitors'] });
});
after(() => cluster.stop());

describe('every example is applied', () => {
  it('each YAML file under examples/ is a top-level example (created by test/integration/api/crds.test.ts) or read by a kustomization applied here', () => {
    const topLevel = new Set(loadExamples().map((example) => example.file));
    const covered = new Set<string>();
    for (const dir of appliedKustomizations) {
      for (const file of filesOfKustomization(join(examplesDir, dir))) covered.add(file);
    }
    const uncovered = exampleYamlFiles().filter((file) => !topLevel.has(file) && !covered.has(join(examplesDir, file)));
    assert.deepEqual(uncovered.map(describeUncovered), []);
  });
});

describe('examples/continuous-runner', () => {
  it('applies with server-side dry-run and for real: ConfigMap, Deployment, Service and ServiceMonitor', async () => {
    const namespace = await cluster.createNamespace('examples-continuous');
    const names = await applyKustomization(continuousRunnerDir, namespace);
    assert.deepEqual(
      names.map((name) => name.replace(/-[a-z0-9]{10}$/, '-HASH')),
      [
        'configmap/loadlm-continuous-runner-HASH',
        'deployment.apps/loadlm-continuous-runner',
        'service/loadlm-continuous-runner',
        'servicemonitor.monitoring.coreos.com/loadlm-continuous-runner',
      ],
    );
    const service = await getJson(namespace, ['service', 'loadlm-continuous-runner']);
    const deployment = await getJson(namespace, ['deployment', 'loadlm-continuous-runner']);
    const monitor = await getJson(namespace, ['servicemonitor', 'loadlm-continuous-runner']);
    assert.equal(service.metadata.labels['loadlm.dev/metrics'], 'true');
    assert.equal(monitor.metadata.labels.release, 'kube-prometheus-stack', 'kube-prometheus-stack selects by release');
    // The ServiceMonitor selects the Service, and the Service the Deployment's pods, on port `metrics`.
    for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels as Record<string, string>)) {
      assert.equal(service.metadata.labels[key], value, `the Service has the ServiceMonitor's label ${key}`);
    }
    for (const [key, value] of Object.entries(service.spec.selector as Record<string, string>)) {
      assert.equal(deployment.spec.template.metadata.labels[key], value, `the pods have the Service's label ${key}`);
    }
    const endpoint = monitor.spec.endpoints[0];
    assert.equal(endpoint.port, service.spec.ports[0].name);
    const stamped = Object.fromEntries(
      (endpoint.relabelings as Json[])
        .filter((relabeling) => relabeling.replacement !== undefined)
        .map((relabeling) => [relabeling.targetLabel, relabeling.replacement]),
    );
    assert.deepEqual(stamped, {
      provider: 'akamai-lke',
      cluster: 'rag-ray-dev',
      region: 'us-ord',
      environment: 'development',
    });
    const args: string[] = deployment.spec.template.spec.containers[0].args;
    assert.ok(args.includes('--continuous'), `the runner runs continuously: ${args.join(' ')}`);
  });

  it('runs through the pod executor against loadlm sim, and its /metrics counts successful requests', async () => {
    const namespace = await cluster.createNamespace('examples-runner');
    const apiKey = randomBytes(12).toString('hex');
    // The simulator demands the key: successful requests prove the Secret reached the runner.
    const sim = await startSimulator({ port: 0, ttftMs: 20, itlMs: 2, apiKey });
    const executor = await cluster.startPodExecutor({ images: defaultImages(), namespaces: [namespace] });
    try {
      await cluster.kubectl(['create', 'secret', 'generic', 'mistral-api-key', `--from-literal=api-key=${apiKey}`], {
        namespace,
      });
      // The example as built, with only the in-cluster target URL pointed at the simulator.
      const built = (await cluster.kubectl(['kustomize', continuousRunnerDir])).stdout;
      assert.ok(built.includes(inClusterUrl), `the example targets ${inClusterUrl}`);
      const pointed = built.split(inClusterUrl).join(`${sim.url}/v1/chat/completions`);
      await cluster.kubectl(['apply', '-f', '-'], { input: pointed, namespace });

      const selector = 'app.kubernetes.io/instance=continuous-development';
      const podIp = await waitFor(
        'a Ready runner pod made by the Deployment',
        async () => {
          const pods = (await getJson(namespace, ['pods', '-l', selector])).items as Json[];
          const ready = pods.find((pod) =>
            (pod.status?.conditions as Json[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True'),
          );
          return ready?.status?.podIP as string | undefined;
        },
        {
          timeoutMs: 60_000,
          intervalMs: 500,
          describe: async () =>
            (await cluster.kubectl(['get', 'pods,replicasets', '-o', 'wide'], { namespace })).stdout,
        },
      );
      // The pod the Service (and so the ServiceMonitor) selects. Its EndpointSlice stays empty here: the executor's
      // pod IPs are loopback addresses, which EndpointSlices do not accept; a scrape of the pod stands in for it.
      const service = await getJson(namespace, ['service', 'loadlm-continuous-runner']);
      const serviceSelector = Object.entries(service.spec.selector as Record<string, string>)
        .map(([key, value]) => `${key}=${value}`)
        .join(',');
      const selected = (await getJson(namespace, ['pods', '-l', serviceSelector])).items as Json[];
      assert.deepEqual(
        selected.map((pod) => pod.status?.podIP),
        [podIp],
        'the Service selects exactly the runner pod',
      );
      // What Prometheus would scrape through the ServiceMonitor: the endpoint's /metrics.
      const metricsUrl = `http://${podIp}:9090/metrics`;
      const successLine = await waitFor(
        `successful requests in ${metricsUrl}`,
        async () => {
          const text = await (await fetch(metricsUrl)).text();
          return text
            .split('\n')
            .find((line) => /^guidellm_requests_total\{[^}]*status="success"[^}]*\} [1-9]/.test(line));
        },
        {
          timeoutMs: 90_000,
          intervalMs: 1_000,
          describe: async () =>
            (await executor.logs(namespace, (await runnerPodName(namespace, selector)) ?? '')).slice(-2000),
        },
      );
      for (const label of [
        'environment="development"',
        'provider="akamai-lke"',
        'cluster="rag-ray-dev"',
        'region="us-ord"',
        'target="mistral-7b"',
        'model="mistralai/Mistral-7B-Instruct-v0.3"',
      ]) {
        assert.ok(successLine.includes(label), `${successLine} has ${label}`);
      }
      const failed = (await (await fetch(metricsUrl)).text())
        .split('\n')
        .find((line) => /^guidellm_requests_total\{[^}]*status="error"[^}]*\} /.test(line));
      assert.match(failed ?? 'none 0', / 0$/, 'no request failed');
    } finally {
      await executor.stop();
      await sim.close();
    }
  });
});

async function runnerPodName(namespace: string, selector: string): Promise<string | undefined> {
  const pods = (await getJson(namespace, ['pods', '-l', selector])).items as Json[];
  return pods[0]?.metadata?.name as string | undefined;
}

describe('examples/gitops overlays', () => {
  for (const environment of ['development', 'staging']) {
    it(`${environment}: kubectl apply -k (server-side dry-run, then for real) gives the environment's LoadTest and ObservabilityStack`, async () => {
      const namespace = await cluster.createNamespace(`examples-gitops-${environment}`);
      const names = await applyKustomization(join(examplesDir, 'gitops', 'overlays', environment), namespace);
      assert.deepEqual(names, ['loadtest.loadlm.dev/mistral-7b-smoke', 'observabilitystack.loadlm.dev/cluster']);
      const loadTest = await getJson(namespace, ['loadtest', 'mistral-7b-smoke']);
      const stack = await getJson(namespace, ['observabilitystack', 'cluster']);
      for (const object of [loadTest, stack]) {
        assert.equal(object.metadata.labels['loadlm.dev/environment'], environment);
        assert.equal(object.spec.environment.name, environment);
        assert.equal(object.spec.environment.provider, 'akamai-lke');
        assert.match(object.spec.environment.cluster, /^rag-ray-(dev|staging)$/);
      }
      assert.equal(
        loadTest.spec.targets[0].url,
        `http://mistral-7b-predictor.${environment}.svc.cluster.local:8012`,
        "the smoke test targets the environment's own Mistral 7B",
      );
      assert.deepEqual(stack.spec.scrape.vllm.namespaces, [environment]);
      if (environment === 'staging') {
        assert.deepEqual(loadTest.spec.targets[0].apiKeySecretRef, { name: 'mistral-api-key', key: 'api-key' });
        assert.equal(loadTest.spec.slo.ttftP95Milliseconds, 500);
        assert.equal(loadTest.spec.load.durationSeconds, 300);
      }
    });
  }
});
