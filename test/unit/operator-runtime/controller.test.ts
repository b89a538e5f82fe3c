import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { ItemExponentialFailureRateLimiter } from '../../../operator/runtime/backoff.ts';
import { FakeClock } from '../../../operator/runtime/clock.ts';
import { Controller, type ReconcileContext, TerminalError } from '../../../operator/runtime/controller.ts';
import { Informer } from '../../../operator/runtime/informer.ts';
import { silentLogger } from '../../../operator/runtime/logger.ts';
import { RuntimeMetrics } from '../../../operator/runtime/metrics.ts';
import { resources } from '../../../operator/runtime/resources.ts';
import { FakeApi, type TestObject } from './fake-api.ts';

type Reconcile = (context: ReconcileContext) => Promise<{ requeueAfterMs?: number; requeue?: boolean } | undefined>;

interface Harness {
  api: FakeApi;
  clock: FakeClock;
  informer: Informer<TestObject>;
  controller: Controller<TestObject>;
  metrics: RuntimeMetrics;
  stop: AbortController;
  running: Promise<void>;
}

let harness: Harness | undefined;

afterEach(async () => {
  if (!harness) return;
  harness.stop.abort();
  await harness.clock.advance(60_000);
  await harness.running;
  await harness.informer.stop();
  harness = undefined;
});

async function start(reconcile: Reconcile, options: { workers?: number; names?: string[] } = {}): Promise<Harness> {
  const api = new FakeApi();
  for (const name of options.names ?? []) api.put(name, { v: '1' });
  const clock = new FakeClock();
  const informer = new Informer<TestObject>({
    resource: resources.configMaps,
    listerWatcher: api,
    clock,
    random: () => 0,
    resyncPeriodMs: 0,
    stallTimeoutMs: 3_600_000,
  });
  const metrics = new RuntimeMetrics(new Registry(), { processMetrics: false });
  const controller = new Controller<TestObject>({
    name: 'test',
    for: informer,
    reconcile,
    maxConcurrentReconciles: options.workers ?? 1,
    rateLimiter: new ItemExponentialFailureRateLimiter(5, 1000),
    logger: silentLogger(),
    metrics,
    clock,
  });
  informer.start();
  await informer.waitForSync();
  const stop = new AbortController();
  const h: Harness = { api, clock, informer, controller, metrics, stop, running: Promise.resolve() };
  harness = h;
  h.running = controller.run(stop.signal, { drainTimeoutMs: 10_000 });
  await clock.advance(0);
  return h;
}

async function counter(metrics: RuntimeMetrics, result: string): Promise<number> {
  const { values } = await metrics.reconcileTotal.get();
  return values.find((value) => value.labels.result === result)?.value ?? 0;
}

describe('Controller', () => {
  it('reconciles every cached object on start, then each change by key', async () => {
    const seen: string[] = [];
    const h = await start(
      async ({ key, namespace, name, log }) => {
        assert.ok(log, 'a child logger is provided');
        seen.push(`${key}|${namespace}|${name}`);
        return undefined;
      },
      { names: ['a', 'b'] },
    );
    assert.deepEqual(seen.sort(), ['ns/a|ns|a', 'ns/b|ns|b']);
    h.api.put('a', { v: '2' });
    await h.clock.advance(0);
    assert.equal(seen.length, 3);
    assert.equal(seen[2], 'ns/a|ns|a');
    assert.equal(await counter(h.metrics, 'success'), 3);
  });

  it('never runs the same key concurrently, even with several workers, and does not lose a change made meanwhile', async () => {
    let active = 0;
    let maxActiveForA = 0;
    const releases: (() => void)[] = [];
    const versions: string[] = [];
    const h = await start(
      async ({ key }) => {
        if (key !== 'ns/a') return undefined;
        active++;
        maxActiveForA = Math.max(maxActiveForA, active);
        versions.push(harness?.informer.getByKey(key)?.data?.v ?? '?');
        await new Promise<void>((resolve) => releases.push(resolve));
        active--;
        return undefined;
      },
      { workers: 4, names: ['a'] },
    );
    h.api.put('a', { v: '2' });
    h.api.put('a', { v: '3' });
    await h.clock.advance(0);
    assert.equal(releases.length, 1, 'the key is in flight once');
    releases.shift()?.();
    await h.clock.advance(0);
    assert.equal(releases.length, 1, 'the changes made meanwhile collapse into one more reconcile');
    releases.shift()?.();
    await h.clock.advance(0);
    assert.equal(maxActiveForA, 1);
    assert.deepEqual(versions, ['1', '3'], 'the second reconcile sees the latest state');
  });

  it('requeues a failing key with growing backoff and forgets it after a success', async () => {
    const attempts: number[] = [];
    const retriesSeen: number[] = [];
    const h = await start(
      async ({ retries }) => {
        attempts.push(harness?.clock.now() ?? 0);
        retriesSeen.push(retries);
        if (attempts.length <= 4) throw new Error('transient failure');
        return undefined;
      },
      { names: ['a'] },
    );
    // First attempt at start; retries after 5, 10, 20, 40 ms.
    for (let i = 0; i < 4; i++) await h.clock.advance((h.clock.nextTimerAt() as number) - h.clock.now());
    assert.equal(attempts.length, 5);
    const gaps = attempts.slice(1).map((at, i) => at - (attempts[i] as number));
    assert.deepEqual(gaps, [5, 10, 20, 40]);
    assert.deepEqual(retriesSeen, [0, 1, 2, 3, 4]);
    assert.equal(h.controller.isRunning(), true);
    assert.equal(await counter(h.metrics, 'error'), 4);
    assert.equal(await counter(h.metrics, 'success'), 1);
    const { values } = await h.metrics.reconcileErrors.get();
    assert.equal(values[0]?.value, 4);
    await h.clock.advance(3_000_000);
    assert.equal(attempts.length, 5, 'no retry after the success');
  });

  it('requeueAfterMs brings the key back after the delay; requeue: true uses the backoff', async () => {
    const times: number[] = [];
    const h = await start(
      async () => {
        times.push(harness?.clock.now() ?? 0);
        return times.length === 1 ? { requeueAfterMs: 10_000 } : times.length === 2 ? { requeue: true } : undefined;
      },
      { names: ['a'] },
    );
    await h.clock.advance(9_999);
    assert.equal(times.length, 1);
    await h.clock.advance(1);
    assert.equal(times.length, 2);
    await h.clock.advance(5);
    assert.equal(times.length, 3);
    assert.equal(await counter(h.metrics, 'requeue_after'), 1);
    assert.equal(await counter(h.metrics, 'requeue'), 1);
  });

  it('a TerminalError is not retried', async () => {
    let calls = 0;
    const h = await start(
      async () => {
        calls++;
        throw new TerminalError('spec.targets: expected at least one target');
      },
      { names: ['a'] },
    );
    await h.clock.advance(3_600_000);
    assert.equal(calls, 1);
    const { values } = await h.metrics.terminalReconcileErrors.get();
    assert.equal(values[0]?.value, 1);
  });

  it('stopping waits for in-flight reconciles, takes no new work, and drops events while stopped', async () => {
    let release: (() => void) | undefined;
    const seen: string[] = [];
    const h = await start(
      async ({ key, signal }) => {
        seen.push(key);
        if (key === 'ns/slow') {
          await new Promise<void>((resolve) => {
            release = resolve;
          });
          assert.equal(signal.aborted, false, 'a draining reconcile is not aborted before the timeout');
        }
        return undefined;
      },
      { names: ['slow'] },
    );
    let stopped = false;
    h.stop.abort();
    void h.running.then(() => {
      stopped = true;
    });
    h.api.put('other', { v: '1' });
    await h.clock.advance(0);
    assert.equal(stopped, false, 'waits for the in-flight reconcile');
    assert.equal(h.controller.isRunning(), false);
    release?.();
    await h.running;
    assert.equal(stopped, true);
    assert.deepEqual(seen, ['ns/slow'], 'no new work after stop');
    h.controller.enqueue('ns/other');
    assert.equal(h.controller.isRunning(), false);
  });

  it('aborts in-flight reconciles when the drain timeout passes', async () => {
    let aborted = false;
    const h = await start(
      async ({ signal }) => {
        await new Promise<void>((resolve) =>
          signal.addEventListener(
            'abort',
            () => {
              aborted = true;
              resolve();
            },
            { once: true },
          ),
        );
        return undefined;
      },
      { names: ['stuck'] },
    );
    h.stop.abort();
    await h.clock.advance(9_999);
    assert.equal(aborted, false);
    await h.clock.advance(1);
    await h.running;
    assert.equal(aborted, true);
  });

  it('a reconcile that ignores its signal holds stop up only until the drain timeout plus a short grace', async () => {
    const h = await start(() => new Promise(() => {}), { names: ['hung'] });
    let stopped = false;
    h.stop.abort();
    void h.running.then(() => {
      stopped = true;
    });
    await h.clock.advance(10_000);
    assert.equal(stopped, false);
    await h.clock.advance(1_000);
    assert.equal(stopped, true);
  });

  it('maps owned objects to the key of their controlling owner', async () => {
    const ownedApi = new FakeApi();
    const clock = new FakeClock();
    const primary = new Informer<TestObject>({
      resource: resources.loadTests,
      listerWatcher: new FakeApi(),
      clock,
      resyncPeriodMs: 0,
    });
    const owned = new Informer<TestObject>({
      resource: resources.jobs,
      listerWatcher: ownedApi,
      clock,
      resyncPeriodMs: 0,
    });
    const seen: string[] = [];
    const controller = new Controller<TestObject>({
      name: 'owner-test',
      for: primary,
      owns: [owned as never],
      reconcile: async ({ key }) => {
        seen.push(key);
        return undefined;
      },
      logger: silentLogger(),
      clock,
    });
    primary.start();
    owned.start();
    await Promise.all([primary.waitForSync(), owned.waitForSync()]);
    const stop = new AbortController();
    const running = controller.run(stop.signal);
    const owner = { apiVersion: 'loadlm.dev/v1alpha1', kind: 'LoadTest', name: 'lt-1', uid: 'u1' };
    ownedApi.put('unowned', { v: '1' });
    ownedApi.put('not-controller', { v: '1' }, 'ns', { ownerReferences: [{ ...owner, controller: false }] });
    ownedApi.put('other-kind', { v: '1' }, 'ns', {
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u2', controller: true }],
    });
    await clock.advance(0);
    assert.deepEqual(seen, [], 'objects without a LoadTest controller reference map to nothing');
    ownedApi.put('lt-1-runners', { v: '1' }, 'ns', { ownerReferences: [{ ...owner, controller: true }] });
    await clock.advance(0);
    assert.deepEqual(seen, ['ns/lt-1']);
    ownedApi.remove('lt-1-runners');
    await clock.advance(0);
    assert.deepEqual(seen, ['ns/lt-1', 'ns/lt-1'], 'deleting an owned object reconciles its owner');
    stop.abort();
    await running;
    await Promise.all([primary.stop(), owned.stop()]);
  });
});
