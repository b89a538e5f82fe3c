/**
 * The manager against the apiserver: HTTP endpoints, a controller reconciling and retrying, and leader
 * election between two managers (takeover after a release, and a leader that loses the lease stops working).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeClient } from '../../../operator/runtime/kube-client.ts';
import type { Lease } from '../../../operator/runtime/leader-election.ts';
import { Manager } from '../../../operator/runtime/manager.ts';
import { resources } from '../../../operator/runtime/resources.ts';
import { type ClusterHandle, fromEnv, waitFor } from '../../cluster/index.ts';
import { newClient, testLogger } from './helpers.ts';
import { TcpProxy } from './tcp-proxy.ts';

/** Short timings so takeovers take seconds; as in client-go, a lost leader stops (3 s) well before others may lead (5 s). */
const timings = { leaseDurationMs: 5_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 };

let cluster: ClusterHandle;
let namespace: string;
let writer: KubeClient;
const cleanups: (() => Promise<void>)[] = [];

before(async () => {
  cluster = fromEnv();
  namespace = await cluster.createNamespace('rt-manager');
  ({ client: writer } = await newClient(cluster.kubeConfig()));
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await writer?.close();
  await cluster?.stop();
});

async function createConfigMap(name: string, labels: Record<string, string>): Promise<void> {
  await writer.create(resources.configMaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels },
  });
}

interface Reconciled {
  key: string;
  identity: string;
}

/** A manager whose controller records every ConfigMap key it reconciles (label `app=<app>`). */
async function startManager(
  kubeConfig: KubeConfig,
  app: string,
  log: Reconciled[],
  options: { lease?: string; http?: boolean; reconcile?: (key: string) => Promise<void> } = {},
): Promise<Manager> {
  const manager = await Manager.create({
    kubeConfig,
    logger: testLogger(),
    namespaces: [namespace],
    leaderElection: options.lease ? { namespace, name: options.lease, ...timings } : false,
    ...(options.http ? { http: { port: 0, host: '127.0.0.1' } } : {}),
    gracefulShutdownTimeoutMs: 5_000,
  });
  const configMaps = manager.informer(resources.configMaps, { labelSelector: `app=${app}` });
  manager.addController({
    name: 'configmaps',
    for: configMaps,
    maxConcurrentReconciles: 2,
    reconcile: async ({ key }) => {
      await options.reconcile?.(key);
      log.push({ key, identity: manager.identity });
      return undefined;
    },
  });
  await manager.start();
  cleanups.push(() => manager.stop());
  return manager;
}

async function get(manager: Manager, path: string): Promise<{ status: number; body: string }> {
  const address = manager.httpAddress();
  assert.ok(address, 'the manager serves HTTP');
  const response = await fetch(`http://127.0.0.1:${address.port}${path}`);
  return { status: response.status, body: await response.text() };
}

async function holder(lease: string): Promise<string> {
  const object = await writer.get<Lease>(resources.leases, namespace, lease);
  return object.spec?.holderIdentity ?? '';
}

describe('manager', () => {
  it('serves /healthz, /readyz (503 until the caches have synced) and /metrics', async () => {
    const proxy = await TcpProxy.start(cluster.server);
    cleanups.push(() => proxy.close());
    proxy.refuse();
    const log: Reconciled[] = [];
    const manager = await startManager(proxy.kubeConfigFor(cluster.kubeConfig()), 'http', log, { http: true });

    assert.equal((await get(manager, '/healthz')).status, 200);
    const notReady = await get(manager, '/readyz');
    assert.equal(notReady.status, 503);
    assert.match(notReady.body, /informers-synced failed: not synced: configmaps/);

    proxy.forward();
    await waitFor('readiness', async () => (await get(manager, '/readyz')).status === 200, { timeoutMs: 20_000 });
    await createConfigMap('http-a', { app: 'http' });
    await waitFor('the reconcile', () => log.length > 0, { timeoutMs: 10_000 });

    const metrics = await get(manager, '/metrics');
    assert.equal(metrics.status, 200);
    for (const name of [
      'controller_runtime_reconcile_total{controller="configmaps",result="success"}',
      'controller_runtime_reconcile_errors_total',
      'controller_runtime_reconcile_time_seconds_bucket',
      'controller_runtime_max_concurrent_reconciles{controller="configmaps"} 2',
      'controller_runtime_active_workers{controller="configmaps"}',
      'workqueue_depth{name="configmaps",controller="configmaps"}',
      'workqueue_adds_total',
      'workqueue_queue_duration_seconds_bucket',
      'workqueue_work_duration_seconds_bucket',
      'workqueue_unfinished_work_seconds',
      'workqueue_longest_running_processor_seconds',
      'workqueue_retries_total',
      'rest_client_requests_total{method="GET",code="200"}',
      'rest_client_requests_total{method="WATCH",code="200"}',
      'process_resident_memory_bytes',
    ]) {
      assert.ok(metrics.body.includes(name), `/metrics lacks ${name}`);
    }
    assert.equal((await get(manager, '/nope')).status, 404);
  });

  it('reconciles a key per object and retries a failing key with backoff until it succeeds', async () => {
    const log: Reconciled[] = [];
    const attempts = new Map<string, number>();
    const manager = await startManager(cluster.kubeConfig(), 'retry', log, {
      reconcile: async (key) => {
        const attempt = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, attempt);
        if (key.endsWith('/flaky') && attempt <= 3) throw new Error(`simulated failure ${attempt}`);
      },
    });
    await manager.waitForCacheSync();
    for (const name of ['one', 'two', 'flaky']) await createConfigMap(name, { app: 'retry' });
    await waitFor(
      'every object reconciled successfully',
      () => ['one', 'two', 'flaky'].every((name) => log.some((entry) => entry.key === `${namespace}/${name}`)),
      { timeoutMs: 15_000, describe: () => JSON.stringify([...attempts]) },
    );
    assert.equal(attempts.get(`${namespace}/flaky`), 4, 'three failures, then a success');
    assert.equal(attempts.get(`${namespace}/one`), 1);
    const errors = await manager.metrics.reconcileErrors.get();
    assert.equal(errors.values.find((value) => value.labels.controller === 'configmaps')?.value, 3);
    const retries = (await manager.registry.getSingleMetric('workqueue_retries_total')?.get())?.values[0]?.value;
    assert.equal(retries, 3);
  });

  it('two managers on one Lease: exactly one reconciles; after it stops and releases, the other takes over', async () => {
    const lease = 'runtime-test-takeover';
    const log: Reconciled[] = [];
    const first = await startManager(cluster.kubeConfig(), 'takeover', log, { lease });
    await waitFor('the first manager to lead', () => first.isLeader(), { timeoutMs: 10_000 });
    const second = await startManager(cluster.kubeConfig(), 'takeover', log, { lease });
    await second.waitForCacheSync();
    await waitFor('the standby to observe the leader', () => second.currentLeader() === first.identity, {
      timeoutMs: 10_000,
    });
    assert.equal(second.isLeader(), false);
    assert.equal(await holder(lease), first.identity);

    await createConfigMap('takeover-a', { app: 'takeover' });
    await waitFor('the leader to reconcile', () => log.length > 0, { timeoutMs: 10_000 });
    assert.ok(
      log.every((entry) => entry.identity === first.identity),
      'only the leader reconciles',
    );

    const stoppedAt = Date.now();
    await first.stop();
    assert.equal(first.isLeader(), false);
    const afterRelease = await holder(lease);
    assert.ok(afterRelease === '' || afterRelease === second.identity, `released, got holder "${afterRelease}"`);
    // Released: the standby need not wait for the lease to expire, one retry period (jittered) is enough.
    await waitFor('the standby to take over', () => second.isLeader(), { timeoutMs: timings.leaseDurationMs });
    const takeoverMs = Date.now() - stoppedAt;
    assert.equal(await holder(lease), second.identity);

    await createConfigMap('takeover-b', { app: 'takeover' });
    await waitFor('the new leader to reconcile', () => log.some((entry) => entry.key === `${namespace}/takeover-b`), {
      timeoutMs: 10_000,
    });
    assert.ok(
      log
        .filter((entry) => entry.key === `${namespace}/takeover-b`)
        .every((entry) => entry.identity === second.identity),
    );
    process.stderr.write(`# leader takeover after release: ${takeoverMs} ms\n`);
  });

  it('a leader that cannot renew stops working before its lease expires, and the standby takes over', async () => {
    const lease = 'runtime-test-loss';
    const proxy = await TcpProxy.start(cluster.server);
    cleanups.push(() => proxy.close());
    const log: Reconciled[] = [];
    const cut = await startManager(proxy.kubeConfigFor(cluster.kubeConfig()), 'loss', log, { lease });
    await waitFor('the first manager to lead', () => cut.isLeader(), { timeoutMs: 10_000 });
    const standby = await startManager(cluster.kubeConfig(), 'loss', log, { lease });
    await standby.waitForCacheSync();

    // Safety: never two leaders at once.
    let bothLed = false;
    const sampler = setInterval(() => {
      if (cut.isLeader() && standby.isLeader()) bothLed = true;
    }, 20);
    cleanups.push(async () => clearInterval(sampler));

    proxy.refuse();
    const cutAt = Date.now();
    await waitFor('the cut-off leader to stop leading', () => !cut.isLeader(), {
      timeoutMs: timings.renewDeadlineMs + 3 * timings.retryPeriodMs + 2_000,
    });
    const stoppedLeadingAfterMs = Date.now() - cutAt;
    await waitFor('the standby to take over after the lease expired', () => standby.isLeader(), {
      timeoutMs: timings.leaseDurationMs + 3 * timings.retryPeriodMs + 2_000,
    });
    clearInterval(sampler);
    assert.equal(bothLed, false, 'the old leader stopped before the standby started');
    const gauge = await cut.metrics.leaderStatus.get();
    assert.equal(gauge.values[0]?.value, 0, 'leader_election_master_status drops to 0');

    await createConfigMap('after-loss', { app: 'loss' });
    await waitFor('the new leader to reconcile', () => log.some((entry) => entry.key === `${namespace}/after-loss`), {
      timeoutMs: 10_000,
    });
    assert.ok(
      log
        .filter((entry) => entry.key === `${namespace}/after-loss`)
        .every((entry) => entry.identity === standby.identity),
      'the old leader does no work after losing the lease',
    );
    process.stderr.write(`# leader without API access stopped leading after ${stoppedLeadingAfterMs} ms\n`);
  });
});
