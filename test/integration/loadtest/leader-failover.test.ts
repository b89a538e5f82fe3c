/**
 * Two operator replicas on one Lease, end to end (both in-process, pod executor, real runner, `loadlm sim`):
 * only the leader reconciles; when the leader stops mid-run, or is cut off from the apiserver and loses the
 * lease, the standby takes over and the LoadTest completes exactly once: one Job (the same uid), one start
 * time, Succeeded, one report, every runner's requests counted once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningOperator } from '../../../operator/main.ts';
import { startSimulator } from '../../../runner/sim/index.ts';
import type { SimulatorHandle } from '../../../runner/sim/server.ts';
import { fromEnv, type PodExecutor, waitFor } from '../../cluster/index.ts';
import { installCrds } from '../../support/crds.ts';
import { startRunnerExecutor, startTestOperator } from '../../support/operator.ts';
import { hostPort, startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.ts';
import { type ConfigMapJson, LoadTestNamespace, loadTestManifest } from './helpers.ts';

const cluster = fromEnv();
let ns: LoadTestNamespace;
let executor: PodExecutor | undefined;
let sim: SimulatorHandle | undefined;
const operators: RunningOperator[] = [];
let proxy: TcpProxy | undefined;

before(async () => {
  await installCrds(cluster);
  ns = new LoadTestNamespace(cluster, await cluster.createNamespace('loadtest-leader'));
  sim = await startSimulator({ port: 0, ttftMs: 20, itlMs: 5 });
  executor = await startRunnerExecutor(cluster, [ns.namespace]);
});

after(async () => {
  proxy?.restore();
  await Promise.all(operators.map((operator) => operator.stop()));
  await proxy?.close();
  await executor?.stop();
  await sim?.close();
  await cluster.stop();
});

async function startReplica(server?: string): Promise<RunningOperator> {
  const operator = await startTestOperator(cluster, { namespaces: [ns.namespace], ...(server ? { server } : {}) });
  operators.push(operator);
  return operator;
}

/** Reconciles of the LoadTest controller this replica ran, whatever their result. */
async function reconciles(operator: RunningOperator): Promise<number> {
  const metric = await operator.manager.registry.getSingleMetric('controller_runtime_reconcile_total')?.get();
  return (metric?.values ?? [])
    .filter((value) => value.labels.controller === 'loadtest')
    .reduce((sum, value) => sum + value.value, 0);
}

/** Starts a leader, then a standby that has synced its caches and sees the leader. */
async function startPair(leaderServer?: string): Promise<{ leader: RunningOperator; standby: RunningOperator }> {
  const leader = await startReplica(leaderServer);
  await waitFor('the first replica to lead', () => leader.manager.isLeader(), { timeoutMs: 30_000 });
  const standby = await startReplica();
  await waitFor(
    'the second replica to sync and see the leader',
    () => standby.manager.hasSynced() && standby.manager.currentLeader() === leader.manager.identity,
    { timeoutMs: 30_000 },
  );
  assert.equal(standby.manager.isLeader(), false);
  return { leader, standby };
}

function manifest(name: string) {
  const target = { name: 'sim', url: sim?.url ?? '', model: 'mistralai/Mistral-7B-Instruct-v0.3' };
  return loadTestManifest(name, [target], {
    parallelism: 2,
    load: { profile: 'constant', rate: 4, durationSeconds: 8 },
    cleanupPolicy: 'Never',
  });
}

/** Applies the LoadTest and waits until it runs; returns its Job's uid. */
async function startRun(name: string): Promise<string> {
  await ns.apply(manifest(name));
  const job = await waitFor('the runner Job', async () => (await ns.jobs(name))[0], { timeoutMs: 30_000 });
  await ns.waitForRunning(name);
  return job.metadata.uid;
}

/** The run completed once: Succeeded, the same single Job, one start time, one report, each runner counted once. */
async function expectCompletedOnce(name: string, jobUid: string): Promise<void> {
  const lt = await ns.waitForFinished(name, 120_000);
  assert.equal(lt.status?.phase, 'Succeeded', JSON.stringify(lt.status?.conditions));
  const jobs = await ns.jobs(name);
  assert.deepEqual(
    jobs.map((job) => job.metadata.uid),
    [jobUid],
    'exactly the one Job created before the handover',
  );
  const start = await ns.getJson<ConfigMapJson>(['get', 'configmap', `${name}-start`]);
  assert.equal(
    Math.floor(Date.parse(start.data?.startAt ?? '') / 1000),
    Date.parse(lt.status?.startTime ?? '') / 1000,
    'status.startTime is the one start time in the start signal',
  );
  const results = await ns.results(name);
  assert.equal(results.size, 2);
  const sum = LoadTestNamespace.completedOf(results.get(0)) + LoadTestNamespace.completedOf(results.get(1));
  assert.equal(lt.status?.summary?.requests?.total, sum, 'both runners counted exactly once');
  const reports = await ns.getJson<{ items: ConfigMapJson[] }>([
    'get',
    'configmaps',
    '-l',
    `app.kubernetes.io/component=report,loadlm.dev/loadtest=${name}`,
  ]);
  assert.equal(reports.items.length, 1, 'one report');
  const finished = (await ns.events(name)).filter((event) => event.reason === 'RunFinished');
  assert.equal(
    finished.reduce((n, event) => n + (event.series?.count ?? event.deprecatedCount ?? 1), 0),
    1,
    'the completion was recorded once',
  );
}

describe('two operator replicas', () => {
  it('the standby takes over when the leader stops mid-run; the run completes exactly once', async () => {
    const { leader, standby } = await startPair();
    const jobUid = await startRun('handover');
    assert.ok((await reconciles(leader)) > 0, 'the leader reconciled');
    assert.equal(await reconciles(standby), 0, 'the standby did not reconcile while the other led');
    await leader.stop();
    await waitFor('the standby to lead', () => standby.manager.isLeader(), { timeoutMs: 30_000 });
    await expectCompletedOnce('handover', jobUid);
    assert.ok((await reconciles(standby)) > 0, 'the new leader finished the run');
    await standby.stop();
  });

  it('a leader cut off from the apiserver stops; the standby takes over and the run completes once', async () => {
    proxy = await startTcpProxy(hostPort(cluster.server));
    const { leader, standby } = await startPair(`https://127.0.0.1:${proxy.port}`);
    const jobUid = await startRun('partition');
    assert.equal(await reconciles(standby), 0, 'the standby did not reconcile while the other led');
    // The leader can no longer renew: it gives up after its renew deadline, before the lease expires for others.
    proxy.cut();
    await waitFor('the standby to take the lease', () => standby.manager.isLeader(), { timeoutMs: 60_000 });
    assert.equal(leader.manager.isLeader(), false, 'the old leader stopped before the standby took over');
    const leaderReconciles = await reconciles(leader);
    await expectCompletedOnce('partition', jobUid);
    // Reconnected, the old leader sees the new one and stays a standby.
    proxy.restore();
    await waitFor(
      'the old leader to see the new one',
      () => leader.manager.currentLeader() === standby.manager.identity,
      { timeoutMs: 30_000 },
    );
    assert.equal(leader.manager.isLeader(), false);
    assert.equal(standby.manager.isLeader(), true);
    assert.equal(await reconciles(leader), leaderReconciles, 'the old leader did not reconcile after losing the lease');
  });
});
