/**
 * `loadlm run` with the operator's hand-off flags, as a subprocess against a loopback stand-in for the
 * apiserver's ConfigMap endpoints (the full chain against a real control plane is test/integration/loadtest).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resultKeys, startKeys } from '../../../runner/handoff/index.ts';
import { type SimulatorHandle, startSimulator } from '../../../runner/sim/index.ts';
import { runLoadlm } from './process.ts';

const MODEL = 'mistralai/Mistral-7B-Instruct-v0.3';
const NAMESPACE = 'lt-ns';

interface FakeApi {
  url: string;
  /** Bodies of every apply of a ConfigMap, in order. */
  applied: Array<{ name: string; data: Record<string, string> }>;
  /** The start signal's data, or undefined while it does not exist. */
  startSignal: Record<string, string> | undefined;
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

/** Serves apply (PATCH), the name-filtered list and watch of ConfigMaps in one namespace. */
async function startFakeApi(): Promise<FakeApi> {
  const api: FakeApi = { url: '', applied: [], startSignal: undefined, close: async () => {} };
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const base = `/api/v1/namespaces/${NAMESPACE}/configmaps`;
    res.setHeader('content-type', 'application/json');
    if (req.method === 'PATCH' && url.pathname.startsWith(`${base}/`)) {
      const object = JSON.parse(await body(req)) as { metadata: { name: string }; data?: Record<string, string> };
      api.applied.push({ name: object.metadata.name, data: object.data ?? {} });
      res.end(JSON.stringify({ ...object, metadata: { ...object.metadata, resourceVersion: '2' } }));
    } else if (req.method === 'GET' && url.pathname === base && url.searchParams.get('watch') === 'true') {
      // Nothing changes during a watch: hold it open until the client gives up.
      res.writeHead(200);
      res.flushHeaders();
      req.on('close', () => res.end());
    } else if (req.method === 'GET' && url.pathname === base) {
      const items = api.startSignal
        ? [{ metadata: { name: 'lt-start', namespace: NAMESPACE, resourceVersion: '1' }, data: api.startSignal }]
        : [];
      res.end(JSON.stringify({ kind: 'ConfigMapList', metadata: { resourceVersion: '1' }, items }));
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ kind: 'Status', code: 404, message: `${req.method} ${url.pathname}` }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return api;
}

let sim: SimulatorHandle;
let api: FakeApi;
let dir: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 5, itlMs: 1, model: MODEL });
  api = await startFakeApi();
  dir = await mkdtemp(join(tmpdir(), 'loadlm-handoff-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: api.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'runner', user: { token: 'test-token' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'runner' } }],
      'current-context': 'fake',
    }),
  );
  const config = [
    'environments:',
    '  lab:',
    '    targets:',
    `      - { name: sim, url: "${sim.url}/v1", model: "${MODEL}" }`,
    'load: { profile: constant, rate: 20, maxRequests: 6 }',
    'data: { calibration: off }',
  ].join('\n');
  env = {
    KUBECONFIG: kubeconfig,
    LOADLM_CONFIG: config,
    JOB_COMPLETION_INDEX: '0',
    LOADLM_NAMESPACE: NAMESPACE,
    LOADLM_POD_NAME: 'lt-runner-0-abcde',
    LOADLM_LOADTEST_NAME: 'lt',
    LOADLM_LOADTEST_UID: '00000000-0000-4000-8000-000000000001',
    LOADLM_TERMINATION_MESSAGE_PATH: join(dir, 'termination-log'),
  };
});

after(async () => {
  await sim?.close();
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const handoffArgs = [
  'run',
  '--config-env=LOADLM_CONFIG',
  '--shard=0/1',
  '--result-configmap=lt-result-0',
  '--start-signal=lt-start',
  '--metrics-host=127.0.0.1',
  '--metrics-port=0',
  '--progress=off',
  '--quiet',
];

describe('loadlm run with the Kubernetes hand-off', () => {
  it('reports Ready with /metrics up, then exits 3 with a termination message when no start signal comes', async () => {
    api.applied.length = 0;
    api.startSignal = undefined;
    const r = await runLoadlm([...handoffArgs, '--start-timeout=1s'], env);
    assert.equal(r.code, 3, r.stderr);
    const messages = r.logs.map((l) => l.msg);
    assert.ok(
      messages.indexOf('metrics server listening') < messages.indexOf('waiting for the start signal'),
      `metrics must be served before the barrier: ${messages.join(' | ')}`,
    );
    assert.deepEqual(
      api.applied.map((a) => [a.name, a.data[resultKeys.phase]]),
      [['lt-result-0', 'Ready']],
    );
    const termination = await readFile(env.LOADLM_TERMINATION_MESSAGE_PATH as string, 'utf8');
    assert.match(termination, /start barrier failed: no start signal in ConfigMap lt-start/);
  });

  it('runs from the agreed start time and hands the final result over', async () => {
    api.applied.length = 0;
    const startAt = new Date(Date.now() + 500);
    api.startSignal = { [startKeys.phase]: 'Start', [startKeys.startAt]: startAt.toISOString() };
    const r = await runLoadlm([...handoffArgs, '--start-timeout=30s'], env);
    assert.equal(r.code, 0, r.stderr);
    const phases = api.applied.map((a) => a.data[resultKeys.phase]);
    assert.equal(phases[0], 'Ready');
    assert.equal(phases.at(-1), 'Finished');
    const final = JSON.parse(api.applied.at(-1)?.data[resultKeys.json] ?? '{}') as {
      final: boolean;
      exitCode: number;
      targets: Array<{ name: string; counts?: { ok: number } }>;
    };
    assert.equal(final.final, true);
    assert.equal(final.exitCode, 0);
    assert.equal(final.targets[0]?.name, 'sim');
    assert.equal(final.targets[0]?.counts?.ok, 6);
    const started = r.logs.find((l) => l.msg === 'start signal received');
    assert.equal(started?.startAt, startAt.toISOString(), 'the run adopts the agreed start time');
  });

  it('exits 2 with a termination message when the pod identity is missing', async () => {
    const { LOADLM_NAMESPACE: _, ...withoutNamespace } = env;
    const r = await runLoadlm([...handoffArgs], withoutNamespace);
    assert.equal(r.code, 2, r.stderr);
    const termination = await readFile(env.LOADLM_TERMINATION_MESSAGE_PATH as string, 'utf8');
    assert.match(termination, /LOADLM_NAMESPACE is not set/);
  });
});
