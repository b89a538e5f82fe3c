/**
 * The LoadTest controller end to end on the local control plane: the operator runs in-process, the pod
 * executor runs the real runner (`node runner/main.ts`) as local processes, and the runners load `loadlm sim`
 * on loopback. Every wait has a deadline; nothing sleeps for a fixed time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LoadTest } from '../../../api/loadtest.ts';
import type { RunningOperator } from '../../../operator/main.ts';
import { startSimulator } from '../../../runner/sim/index.ts';
import type { SimulatorHandle } from '../../../runner/sim/server.ts';
import { fromEnv, type PodExecutor, waitFor } from '../../cluster/index.ts';
import { installCrds } from '../../support/crds.ts';
import { startRunnerExecutor, startTestOperator } from '../../support/operator.ts';

const simTtftMs = 40;
/** TTFT p95 must be within this of the sim's fixed TTFT: the runner measures from the scheduled send time, so
 * dispatch lag and connection setup on a busy 2-core machine add to it; it can never be lower. */
const ttftToleranceMs = 120;
const runDeadlineMs = 90_000;

const cluster = fromEnv();
let namespace = '';
let executor: PodExecutor | undefined;
let sim: SimulatorHandle | undefined;
let operator: RunningOperator | undefined;

before(async () => {
  await installCrds(cluster);
  namespace = await cluster.createNamespace('loadtest-ctl');
  sim = await startSimulator({ port: 0, ttftMs: simTtftMs, itlMs: 5 });
  executor = await startRunnerExecutor(cluster, [namespace]);
  operator = await startTestOperator(cluster, { namespaces: [namespace] });
});

after(async () => {
  await operator?.stop();
  await executor?.stop();
  await sim?.close();
  await cluster.stop();
});

interface Manifest {
  name: string;
  parallelism?: number;
  rate?: number;
  durationSeconds?: number;
  warmupSeconds?: number;
  slo?: Record<string, unknown>;
  apiKeySecret?: string;
  cleanupPolicy?: 'Never' | 'OnSuccess' | 'Always';
}

function manifest(m: Manifest): string {
  const spec = {
    targets: [
      {
        name: 'sim',
        url: sim?.url,
        model: 'mistralai/Mistral-7B-Instruct-v0.3',
        ...(m.apiKeySecret ? { apiKeySecretRef: { name: m.apiKeySecret, key: 'token' } } : {}),
      },
    ],
    load: {
      profile: 'constant',
      rate: m.rate ?? 4,
      durationSeconds: m.durationSeconds ?? 6,
      ...(m.warmupSeconds ? { warmupSeconds: m.warmupSeconds } : {}),
    },
    data: { promptTokens: { type: 'fixed', value: 32 }, outputTokens: { type: 'fixed', value: 8 } },
    parallelism: m.parallelism ?? 1,
    startupDeadlineSeconds: 60,
    ...(m.slo ? { slo: m.slo } : {}),
    ...(m.cleanupPolicy ? { cleanupPolicy: m.cleanupPolicy } : {}),
  };
  return JSON.stringify({ apiVersion: 'loadlm.dev/v1alpha1', kind: 'LoadTest', metadata: { name: m.name }, spec });
}

async function apply(m: Manifest): Promise<number> {
  await cluster.kubectl(['apply', '-f', '-'], { input: manifest(m), namespace });
  return Date.now();
}

async function getLoadTest(name: string): Promise<LoadTest> {
  const { stdout } = await cluster.kubectl(['get', 'loadtest', name, '-o', 'json'], { namespace });
  return JSON.parse(stdout) as LoadTest;
}

async function getJson<T>(args: string[]): Promise<T> {
  const { stdout } = await cluster.kubectl([...args, '-o', 'json'], { namespace });
  return JSON.parse(stdout) as T;
}

function describeStatus(name: string) {
  return async () => JSON.stringify((await getLoadTest(name)).status ?? {}).slice(0, 3000);
}

async function waitForPhase(name: string, phases: string[], timeoutMs = runDeadlineMs): Promise<LoadTest> {
  return waitFor(
    `LoadTest ${name} to reach ${phases.join(' or ')}`,
    async () => {
      const lt = await getLoadTest(name);
      return phases.includes(lt.status?.phase ?? '') ? lt : undefined;
    },
    { timeoutMs, intervalMs: 500, describe: describeStatus(name) },
  );
}

/** `kubectl get loadtests` as rows of column → value. */
async function printed(): Promise<Record<string, string>[]> {
  const { stdout } = await cluster.kubectl(['get', 'loadtests'], { namespace });
  const [header = '', ...lines] = stdout.trimEnd().split('\n');
  const starts = [...header.matchAll(/\S+/g)].map((match) => ({ name: match[0], at: match.index ?? 0 }));
  return lines.map((line) =>
    Object.fromEntries(
      starts.map((column, i) => [column.name, line.slice(column.at, starts[i + 1]?.at ?? line.length).trim()]),
    ),
  );
}

function milliseconds(display: string): number {
  const match = /^([\d.]+)(µs|us|ms|s)$/.exec(display);
  assert.ok(match, `expected a duration like 42.1ms, got "${display}"`);
  const factor = match[2] === 's' ? 1000 : match[2] === 'ms' ? 1 : 0.001;
  return Number(match[1]) * factor;
}

interface ConfigMapJson {
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

describe('LoadTest controller', () => {
  it('runs a LoadTest to Succeeded and kubectl get shows TTFT-P95, Req/s and Tok/s', async () => {
    const started = Date.now();
    // Like examples/quickstart.yaml: a warmup keeps connection setup and JIT out of the measured TTFT.
    const appliedAt = await apply({ name: 'happy', durationSeconds: 8, warmupSeconds: 2 });
    const job = await waitFor(
      'the runner Job',
      () => getJson<{ metadata: { name: string } }>(['get', 'job', 'happy-runners']),
      {
        timeoutMs: 20_000,
      },
    );
    process.stderr.write(`apply → Job ${job.metadata.name} visible: ${Date.now() - appliedAt} ms\n`);
    const lt = await waitForPhase('happy', ['Succeeded', 'Failed', 'ThresholdsBreached']);
    assert.equal(lt.status?.phase, 'Succeeded', JSON.stringify(lt.status?.conditions));
    assert.ok((lt.status?.summary?.requests?.total ?? 0) > 0);
    assert.deepEqual(lt.status?.reportRef, { name: 'happy-report', key: 'report.json' });
    const row = (await printed()).find((r) => r.NAME === 'happy');
    assert.ok(row, 'kubectl get loadtests lists happy');
    assert.equal(row.PHASE, 'Succeeded');
    const ttft = milliseconds(row['TTFT-P95'] ?? '');
    assert.ok(
      ttft >= simTtftMs * 0.95 && ttft <= simTtftMs + ttftToleranceMs,
      `TTFT-P95 ${ttft}ms vs sim ${simTtftMs}ms`,
    );
    assert.ok(Number(row['REQ/S']) > 0, `Req/s ${row['REQ/S']}`);
    assert.ok(Number(row['TOK/S']) > 0, `Tok/s ${row['TOK/S']}`);
    // cleanupPolicy OnSuccess (the default), ttl 0: runner objects go, the report stays.
    await waitFor('the runner Job to be cleaned up', async () => {
      const jobs = await getJson<{ items: unknown[] }>(['get', 'jobs', '-l', 'loadlm.dev/loadtest=happy']);
      return jobs.items.length === 0;
    });
    const report = await getJson<ConfigMapJson>(['get', 'configmap', 'happy-report']);
    const parsed = JSON.parse(report.data?.['report.json'] ?? '{}') as { kind?: string; outcome?: { reason?: string } };
    assert.equal(parsed.kind, 'LoadTestReport');
    assert.equal((await getLoadTest('happy')).status?.phase, 'Succeeded');
    process.stderr.write(`happy path: ${Date.now() - started} ms; ${JSON.stringify(row)}\n`);
  });

  it('with parallelism 3 reports exactly the sum of the three runners requests', async () => {
    await apply({ name: 'three', parallelism: 3, rate: 6, cleanupPolicy: 'Never' });
    const lt = await waitForPhase('three', ['Succeeded', 'Failed', 'ThresholdsBreached']);
    assert.equal(lt.status?.phase, 'Succeeded', JSON.stringify(lt.status?.conditions));
    // cleanupPolicy Never keeps the runners' result ConfigMaps to compare with.
    const results = await getJson<{ items: ConfigMapJson[] }>([
      'get',
      'configmaps',
      '-l',
      'loadlm.dev/result=true,loadlm.dev/loadtest=three',
    ]);
    assert.equal(results.items.length, 3, 'three result ConfigMaps');
    let sum = 0;
    for (const item of results.items) {
      const result = JSON.parse(item.data?.['result.json'] ?? '{}') as {
        targets: { stats: { requests: { completed: number } } }[];
      };
      const completed = result.targets[0]?.stats.requests.completed;
      assert.ok(completed !== undefined && completed > 0, `${item.metadata.name} has completed requests`);
      sum += completed;
    }
    assert.equal(lt.status?.summary?.requests?.total, sum);
  });

  it('ends in ThresholdsBreached with the breached value in the message', async () => {
    await apply({ name: 'slo', slo: { ttftP95Milliseconds: 1 } });
    const lt = await waitForPhase('slo', ['Succeeded', 'Failed', 'ThresholdsBreached']);
    assert.equal(lt.status?.phase, 'ThresholdsBreached', JSON.stringify(lt.status?.conditions));
    const succeeded = lt.status?.conditions?.find((c) => c.type === 'Succeeded');
    assert.equal(succeeded?.status, 'False');
    assert.equal(succeeded?.reason, 'ThresholdsBreached');
    const observed = lt.status?.thresholds?.find((t) => t.name === 'ttftP95Milliseconds')?.observed;
    assert.ok(observed, 'status.thresholds has ttftP95Milliseconds');
    assert.match(succeeded?.message ?? '', new RegExp(`ttftP95Milliseconds ${observed.replace('.', '\\.')}`));
  });

  it('reports a missing Secret as a clear condition, without a crash loop', async () => {
    await apply({ name: 'nosecret', apiKeySecret: 'does-not-exist' });
    const lt = await waitFor(
      'Accepted=False/SecretNotFound',
      async () => {
        const current = await getLoadTest('nosecret');
        const accepted = current.status?.conditions?.find((c) => c.type === 'Accepted');
        return accepted?.status === 'False' && accepted.reason === 'SecretNotFound' ? current : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 250, describe: describeStatus('nosecret') },
    );
    assert.equal(lt.status?.phase, 'Pending');
    assert.match(lt.status?.conditions?.find((c) => c.type === 'Accepted')?.message ?? '', /does-not-exist/);
    const jobs = await getJson<{ items: unknown[] }>(['get', 'jobs', '-l', 'loadlm.dev/loadtest=nosecret']);
    assert.equal(jobs.items.length, 0, 'no runner Job while the Secret is missing');
    // No crash loop: reconciles end in a planned requeue, never in an error retried with backoff.
    const metrics = await fetch(`http://127.0.0.1:${operator?.manager.httpAddress()?.port}/metrics`).then((r) =>
      r.text(),
    );
    const requeues = /controller_runtime_reconcile_total\{controller="loadtest",result="requeue_after"\} (\d+)/.exec(
      metrics,
    );
    assert.ok(Number(requeues?.[1]) > 0, 'the waiting LoadTest is looked at again with requeueAfter');
    const errors = /controller_runtime_reconcile_errors_total\{controller="loadtest"\} (\d+)/.exec(metrics);
    assert.equal(Number(errors?.[1] ?? 0), 0, 'no reconcile errors');
    // Once the Secret exists, the test starts.
    await cluster.kubectl(['create', 'secret', 'generic', 'does-not-exist', '--from-literal=token=abc'], { namespace });
    await waitFor('the runner Job once the Secret exists', () => getJson(['get', 'job', 'nosecret-runners']), {
      timeoutMs: 20_000,
    });
    await waitForPhase('nosecret', ['Succeeded', 'Failed', 'ThresholdsBreached']);
  });

  it('survives an operator restart mid-run: no duplicate Job, the run completes', async () => {
    await apply({ name: 'restart', durationSeconds: 8, cleanupPolicy: 'Never' });
    const first = await waitFor(
      'the runner Job',
      () => getJson<{ metadata: { uid: string } }>(['get', 'job', 'restart-runners']),
      {
        timeoutMs: 20_000,
      },
    );
    await waitFor(
      'RunnersReady',
      async () =>
        (await getLoadTest('restart')).status?.conditions?.some(
          (c) => c.type === 'RunnersReady' && c.status === 'True',
        ),
      { timeoutMs: 60_000, intervalMs: 250, describe: describeStatus('restart') },
    );
    await operator?.stop();
    operator = await startTestOperator(cluster, { namespaces: [namespace] });
    const lt = await waitForPhase('restart', ['Succeeded', 'Failed', 'ThresholdsBreached']);
    assert.equal(lt.status?.phase, 'Succeeded', JSON.stringify(lt.status?.conditions));
    const jobs = await getJson<{ items: { metadata: { uid: string } }[] }>([
      'get',
      'jobs',
      '-l',
      'loadlm.dev/loadtest=restart',
    ]);
    assert.equal(jobs.items.length, 1, 'exactly one runner Job');
    assert.equal(jobs.items[0]?.metadata.uid, first.metadata.uid, 'the Job from before the restart');
  });
});
