/**
 * An API key stays in its Secret, end to end: the operator runs in-process (logs captured at debug), the pod
 * executor runs the real runner (also at debug), and the runners load `loadlm sim`, which requires the key, so
 * a Succeeded run proves the key reached the runner. Afterwards the key (raw, and base64 at every byte
 * alignment, inside gzip too) must appear in no object of any listable namespaced type other than its own
 * Secret, in no Event, in no operator or runner log line, and not in the operator's /metrics. The failing
 * variants (a missing key in the Secret, a target answering 401 and echoing the header it got) must name the
 * Secret and key, never the value.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { LoadTest } from '../../../api/loadtest.ts';
import { type RunningOperator, startOperator } from '../../../operator/main.ts';
import { connectionFromKubeconfig } from '../../../operator/runtime/kube-config.ts';
import { createLogger } from '../../../operator/runtime/logger.ts';
import { startSimulator } from '../../../runner/sim/index.ts';
import type { SimulatorHandle } from '../../../runner/sim/server.ts';
import { envNames, fromEnv, type PodExecutor, runnerImage, waitFor } from '../../cluster/index.ts';
import { installCrds } from '../../support/crds.ts';
import { startRunnerExecutor } from '../../support/operator.ts';
import { LoadTestNamespace, loadTestManifest } from './helpers.ts';

const model = 'mistralai/Mistral-7B-Instruct-v0.3';
/** Distinctive and fresh per run, so no other suite's data can match it. */
const sentinel = `sk-loadlm-leak-${randomBytes(12).toString('hex')}`;
/** A model name that references the key variable: the runner must send it literally, never expanded. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: the runner's own ${VAR} syntax, on purpose
const literalModel = 'probe-${LOADLM_API_KEY_0}';
const secretName = 'target-key';
const secretKey = 'token';

const cluster = fromEnv();
let ns: LoadTestNamespace;
let executor: PodExecutor | undefined;
let sim: SimulatorHandle | undefined;
let echo401: Server | undefined;
let operator: RunningOperator | undefined;
const operatorLog: string[] = [];

/** Every way the key could be written down: raw, and base64 at each of the three byte alignments. */
function needles(secret: string): string[] {
  const bytes = Buffer.from(secret);
  const out = [secret];
  for (const pad of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(pad), bytes]).toString('base64');
    // Only the 4-character groups made of key bytes alone are fixed whatever surrounds the key.
    const first = pad === 0 ? 0 : 1;
    const last = Math.floor((pad + bytes.length) / 3);
    out.push(encoded.slice(first * 4, last * 4));
  }
  return out;
}
const sentinelNeedles = needles(sentinel);

function leaks(text: string): boolean {
  return sentinelNeedles.some((needle) => text.includes(needle));
}

/** binaryData (and Secret data) decoded, gunzipped when gzip: the key must not hide in there either. */
function decodedPayloads(object: unknown): string[] {
  const out: string[] = [];
  const visit = (value: unknown, key: string) => {
    if (Array.isArray(value)) for (const item of value) visit(item, key);
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if ((k === 'binaryData' || k === 'data') && v && typeof v === 'object' && !Array.isArray(v)) {
          for (const encoded of Object.values(v)) {
            if (typeof encoded !== 'string' || !/^[A-Za-z0-9+/=\s]+$/.test(encoded)) continue;
            const bytes = Buffer.from(encoded, 'base64');
            out.push(bytes.toString('latin1'));
            if (bytes[0] === 0x1f && bytes[1] === 0x8b) out.push(gunzipSync(bytes).toString('utf8'));
          }
        }
        visit(v, k);
      }
    }
  };
  visit(object, '');
  return out;
}

interface ListedObject {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

/** Every object of every listable namespaced type in the namespace, as `kind/name` → JSON. */
async function namespaceObjects(): Promise<Map<string, ListedObject>> {
  const types = (await cluster.kubectl(['api-resources', '--verbs=list', '--namespaced', '-o', 'name'])).stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  assert.ok(types.includes('loadtests.loadlm.dev'), `api-resources lists loadtests: ${types.join(', ')}`);
  const list = JSON.parse(await ns.kubectl(['get', types.join(','), '-o', 'json'])) as { items: ListedObject[] };
  const objects = new Map<string, ListedObject>();
  for (const item of list.items) objects.set(`${item.kind}/${item.metadata?.name}`, item);
  return objects;
}

async function podLogs(): Promise<Map<string, string>> {
  const pods = await ns.getJson<{ items: { metadata: { name: string } }[] }>(['get', 'pods']);
  const logs = new Map<string, string>();
  for (const pod of pods.items) logs.set(pod.metadata.name, await ns.kubectl(['logs', pod.metadata.name]));
  return logs;
}

/** Asserts the key is nowhere but in its Secret; returns what was searched (for coverage assertions). */
async function assertNoLeak(): Promise<{ objects: Map<string, ListedObject>; logs: Map<string, string> }> {
  const objects = await namespaceObjects();
  let secretSeen = false;
  for (const [id, object] of objects) {
    const texts = [JSON.stringify(object), ...decodedPayloads(object)];
    const found = texts.some(leaks);
    if (id === `Secret/${secretName}`) {
      // The positive control: the needles do find the key where it is.
      assert.ok(found, 'the key is found in its own Secret (the search works)');
      secretSeen = true;
      continue;
    }
    assert.ok(!found, `the API key leaked into ${id}`);
  }
  assert.ok(secretSeen, 'the Secret was among the listed objects');
  const logs = await podLogs();
  for (const [pod, text] of logs) assert.ok(!leaks(text), `the API key leaked into the logs of pod ${pod}`);
  assert.ok(!leaks(operatorLog.join('')), 'the API key leaked into the operator log');
  const address = operator?.manager.httpAddress();
  assert.ok(address, 'the operator serves /metrics');
  const metrics = await (await fetch(`http://127.0.0.1:${address.port}/metrics`)).text();
  assert.ok(metrics.includes('controller_runtime_reconcile_total'), 'the operator /metrics was scraped');
  assert.ok(!leaks(metrics), 'the API key leaked into the operator /metrics');
  return { objects, logs };
}

/** A one-target LoadTest whose key comes from `target-key` (key `key`); runner objects are kept to inspect. */
function guardedManifest(name: string, url: string, options: { key?: string; model?: string } = {}) {
  const manifest = loadTestManifest(name, [{ name: 'guarded', url, model: options.model ?? model }], {
    cleanupPolicy: 'Never',
  });
  const spec = manifest.spec as { targets: Record<string, unknown>[] };
  const target = spec.targets[0];
  assert.ok(target);
  target.apiKeySecretRef = { name: secretName, key: options.key ?? secretKey };
  return manifest;
}

function condition(lt: LoadTest, type: string) {
  return lt.status?.conditions?.find((c) => c.type === type);
}

interface EnvVarJson {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface PodSpecJson {
  containers: { name: string; env?: EnvVarJson[] }[];
}

/** The key reaches the runner as a secretKeyRef only: no literal value, in the Job template and every pod. */
function assertKeyByReference(where: string, spec: PodSpecJson): void {
  const env = spec.containers.flatMap((container) => container.env ?? []);
  const key = env.find((variable) => variable.name === 'LOADLM_API_KEY_0');
  assert.deepEqual(
    key,
    { name: 'LOADLM_API_KEY_0', valueFrom: { secretKeyRef: { name: secretName, key: secretKey } } },
    `${where}: LOADLM_API_KEY_0 comes from the Secret by reference`,
  );
  for (const variable of env) {
    if (variable.valueFrom?.secretKeyRef) continue;
    assert.ok(!/KEY|TOKEN|SECRET|PASSWORD/i.test(variable.name), `${where}: ${variable.name} is not a credential`);
  }
}

before(async () => {
  await installCrds(cluster);
  ns = new LoadTestNamespace(cluster, await cluster.createNamespace('loadtest-secrets'));
  sim = await startSimulator({ port: 0, ttftMs: 20, itlMs: 2, model: [model, literalModel], apiKey: sentinel });
  // A target that refuses every request and, like some gateways, echoes the credentials it got.
  echo401 = createServer((request, response) => {
    request.resume();
    response.writeHead(401, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: `invalid credentials: ${request.headers.authorization ?? '(none)'}` }));
  });
  await new Promise<void>((resolve) => echo401?.listen(0, '127.0.0.1', resolve));
  executor = await startRunnerExecutor(cluster, [ns.namespace]);
  const kubeconfig = cluster.env()[envNames.kubeconfig];
  assert.ok(kubeconfig);
  // startTestOperator's logger goes to stderr; this one collects every line, at debug (runners get debug too).
  operator = await startOperator(
    {
      namespaces: [ns.namespace],
      runnerImage: `${runnerImage}:test`,
      leaderElectionNamespace: ns.namespace,
      leaderElectionName: 'loadlm-operator',
      httpPort: 0,
      httpHost: '127.0.0.1',
      logLevel: 'debug',
      maxConcurrentReconciles: 2,
      progressIntervalMs: 2_000,
      runnerLingerSeconds: 1,
    },
    {
      connection: await connectionFromKubeconfig(kubeconfig),
      logger: createLogger({
        level: 'debug',
        name: 'operator-secrets-test',
        destination: { write: (line: string) => void operatorLog.push(line) },
      }),
    },
  );
  await ns.apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secretName },
    type: 'Opaque',
    stringData: { [secretKey]: sentinel },
  });
});

after(async () => {
  await operator?.stop();
  await executor?.stop();
  await sim?.close();
  await new Promise<void>((resolve) => (echo401 ? echo401.close(() => resolve()) : resolve()));
  await cluster.stop();
});

describe('API keys stay in their Secret', () => {
  it('a run that needs the key succeeds, and the key is in no object, Event, log or metric', async () => {
    assert.ok(sim);
    await ns.apply(guardedManifest('guarded', `${sim.url}/v1`));
    const lt = await ns.waitForFinished('guarded');
    assert.equal(lt.status?.phase, 'Succeeded', JSON.stringify(lt.status?.conditions));
    // The simulator refuses a request without the right key: none refused, so every request carried it.
    const stats = sim.stats();
    assert.ok(stats.completed > 0, 'the simulator served requests');
    assert.equal(stats.rejected, 0, 'no request was refused for a missing or wrong key');
    assert.ok((lt.status?.summary?.requests?.total ?? 0) > 0);

    // The runner config holds the variable reference, never the value.
    const config = await ns.getJson<{ data: Record<string, string> }>(['get', 'configmap', 'guarded-runner-config']);
    assert.match(config.data['config.yaml'] ?? '', /api_key: \$\{LOADLM_API_KEY_0\}/);
    const job = await ns.getJson<{ spec: { template: { spec: PodSpecJson } } }>(['get', 'job', 'guarded-runners']);
    assertKeyByReference('the Job template', job.spec.template.spec);
    const pods = await ns.getJson<{ items: { metadata: { name: string }; spec: PodSpecJson }[] }>([
      'get',
      'pods',
      '-l',
      'loadlm.dev/loadtest=guarded',
    ]);
    assert.ok(pods.items.length > 0, 'the runner pods are kept (cleanupPolicy Never)');
    for (const pod of pods.items) assertKeyByReference(`pod ${pod.metadata.name}`, pod.spec);

    const { objects, logs } = await assertNoLeak();
    // What was searched covers what matters: the report, the results, the runner config and Events.
    for (const id of ['ConfigMap/guarded-report', 'ConfigMap/guarded-result-0', 'ConfigMap/guarded-runner-config']) {
      assert.ok(objects.has(id), `${id} was searched`);
    }
    assert.ok(
      [...objects.keys()].some((id) => id.startsWith('Event/')),
      'Events were searched',
    );
    const runnerLog = [...logs.values()].join('');
    assert.match(runnerLog, /"level":"debug"|"msg":"run finished"/, 'the runner logs were collected');
    assert.match(operatorLog.join(''), /"level":"debug"/, 'the operator log was collected at debug');
  });

  it('a key missing from the Secret is reported by Secret and key name, with key names only', async () => {
    assert.ok(sim);
    await ns.apply(guardedManifest('wrongkey', `${sim.url}/v1`, { key: 'api-key' }));
    const lt = await waitFor(
      'Accepted=False/SecretKeyNotFound',
      async () => {
        const current = await ns.get('wrongkey');
        const accepted = condition(current, 'Accepted');
        return accepted?.status === 'False' && accepted.reason === 'SecretKeyNotFound' ? current : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, describe: ns.statusText('wrongkey') },
    );
    const message = condition(lt, 'Accepted')?.message ?? '';
    assert.match(message, new RegExp(`Secret ${ns.namespace}/${secretName}\\b`));
    assert.match(message, /"api-key"/, 'names the missing key');
    assert.match(message, /spec\.targets\[0\]\.apiKeySecretRef/, 'names the field');
    assert.match(message, /\btoken\b/, 'lists the key names the Secret has');
    const describeText = await ns.waitForWarningInDescribe('wrongkey', 'SecretKeyNotFound');
    assert.ok(!leaks(describeText), 'kubectl describe shows no key value');
    await assertNoLeak();
  });

  it('a target answering 401 and echoing the header fails with a hint naming the Secret ref, not the key', async () => {
    const address = echo401?.address() as AddressInfo;
    await ns.apply(guardedManifest('refused', `http://127.0.0.1:${address.port}/v1`));
    const { message } = await ns.expectFailed('refused', 'AllRequestsFailing');
    assert.match(message, /HTTP 401/);
    assert.match(message, /spec\.targets\[0\]\.apiKeySecretRef/, 'points at the Secret reference');
    await ns.waitForWarningInDescribe('refused', 'AllRequestsFailing');
    await assertNoLeak();
  });

  it('spec strings reach the runner literally: a model naming the key variable is not expanded', async () => {
    assert.ok(sim);
    await ns.apply(guardedManifest('literal', `${sim.url}/v1`, { model: literalModel }));
    const lt = await ns.waitForFinished('literal');
    // The simulator serves the literal name: an expanded one would be a 404 (and the key in the model label).
    assert.equal(lt.status?.phase, 'Succeeded', JSON.stringify(lt.status?.conditions));
    const report = await ns.getJson<{ data: Record<string, string> }>(['get', 'configmap', 'literal-report']);
    assert.ok((report.data['report.json'] ?? '').includes(literalModel), 'the report shows the model as written');
    await assertNoLeak();
  });
});
