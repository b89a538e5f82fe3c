import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ApiError } from '../../../operator/runtime/api-error.ts';
import { FakeClock } from '../../../operator/runtime/clock.ts';
import { Informer } from '../../../operator/runtime/informer.ts';
import { resources } from '../../../operator/runtime/resources.ts';
import { FakeApi, type TestObject } from './fake-api.ts';

interface Setup {
  api: FakeApi;
  clock: FakeClock;
  informer: Informer<TestObject>;
  log: string[];
}

let current: Setup | undefined;

afterEach(async () => {
  await current?.informer.stop();
  current = undefined;
});

function setup(options: { namespaces?: string[]; resyncPeriodMs?: number; stallTimeoutMs?: number } = {}): Setup {
  const api = new FakeApi();
  const clock = new FakeClock();
  const informer = new Informer<TestObject>({
    resource: resources.configMaps,
    listerWatcher: api,
    clock,
    random: () => 0,
    resyncPeriodMs: options.resyncPeriodMs ?? 0,
    stallTimeoutMs: options.stallTimeoutMs ?? 60_000,
    ...(options.namespaces ? { namespaces: options.namespaces } : {}),
  });
  const log: string[] = [];
  informer.addHandler({
    onAdd: (object) => log.push(`add ${object.metadata?.name} ${object.data?.v}`),
    onUpdate: (old, object) => log.push(`update ${object.metadata?.name} ${old.data?.v}->${object.data?.v}`),
    onDelete: (object) => log.push(`delete ${object.metadata?.name}`),
    onResync: (object) => log.push(`resync ${object.metadata?.name}`),
  });
  current = { api, clock, informer, log };
  return current;
}

async function started(s: Setup): Promise<void> {
  s.informer.start();
  await s.informer.waitForSync();
  await s.clock.advance(0);
}

describe('Informer (list+watch logic against a scripted API)', () => {
  it('lists, syncs, then follows watch events; the cache serves reads', async () => {
    const s = setup();
    s.api.put('a', { v: '1' });
    assert.equal(s.informer.hasSynced(), false);
    await started(s);
    assert.equal(s.informer.hasSynced(), true);
    assert.deepEqual(s.log, ['add a 1']);
    assert.equal(s.informer.get('ns', 'a')?.kind, 'ConfigMap', 'list items get apiVersion/kind filled in');

    s.api.put('b', { v: '1' });
    s.api.put('a', { v: '2' });
    s.api.remove('b');
    await s.clock.advance(0);
    assert.deepEqual(s.log, ['add a 1', 'add b 1', 'update a 1->2', 'delete b']);
    assert.deepEqual(
      s.informer.list().map((object) => object.metadata?.name),
      ['a'],
    );
    assert.equal(s.api.lists.length, 1);
    assert.equal(s.api.watches[0]?.allowWatchBookmarks, true);
    assert.equal(s.api.watches[0]?.resourceVersion, '101');
  });

  it('cached objects are frozen: mutating one throws instead of corrupting the cache', async () => {
    const s = setup();
    s.api.put('a', { v: '1' });
    await started(s);
    const cached = s.informer.get('ns', 'a') as TestObject;
    assert.throws(() => {
      (cached.data as Record<string, string>).v = 'changed';
    }, TypeError);
    assert.equal(s.informer.get('ns', 'a')?.data?.v, '1');
  });

  it('a dropped connection reconnects after a backoff from the last resourceVersion, without relisting', async () => {
    const s = setup();
    s.api.put('a', { v: '1' });
    await started(s);
    s.api.dropWatches();
    s.api.put('a', { v: '2' });
    s.api.put('c', { v: '1' });
    await s.clock.advance(0);
    assert.equal(s.api.openWatches, 0, 'waiting for the backoff');
    await s.clock.advance(800);
    assert.equal(s.api.openWatches, 1);
    assert.equal(s.api.watches.at(-1)?.resourceVersion, '101', 'resumes from the last seen resourceVersion');
    assert.equal(s.api.lists.length, 1, 'no relist');
    assert.deepEqual(s.log.slice(1), ['update a 1->2', 'add c 1'], 'changes made while disconnected arrive');
    assert.equal(s.informer.stats().watchErrors, 1);
  });

  it('backs off exponentially while reconnects keep failing', async () => {
    const s = setup();
    await started(s);
    const starts: number[] = [];
    for (let i = 0; i < 4; i++) {
      s.api.dropWatches();
      await s.clock.advance(0);
      const next = s.clock.nextTimerAt() as number;
      starts.push(next - s.clock.now());
      await s.clock.advance(next - s.clock.now());
    }
    // random() = 0: no jitter; 800 ms doubling. (A watch that delivered nothing does not reset the backoff.)
    assert.deepEqual(starts, [800, 1600, 3200, 6400]);
  });

  it('410 Gone on reconnect relists; objects deleted meanwhile are reported deleted, unchanged ones are not re-added', async () => {
    const s = setup();
    s.api.put('a', { v: '1' });
    s.api.put('b', { v: '1' });
    await started(s);
    s.api.dropWatches();
    s.api.remove('b');
    s.api.put('a', { v: '2' });
    s.api.put('c', { v: '1' });
    s.api.compact();
    await s.clock.advance(800);
    await s.clock.advance(0);
    assert.equal(s.api.lists.length, 2, 'relisted after 410');
    assert.equal(s.informer.stats().relistsAfterGone, 1);
    assert.deepEqual(s.log.slice(2).sort(), ['add c 1', 'delete b', 'update a 1->2']);
    assert.deepEqual(s.informer.keys().sort(), ['ns/a', 'ns/c']);
    assert.equal(s.api.openWatches, 1, 'watching again from the new list');
  });

  it('an ERROR 410 event in the stream relists', async () => {
    const s = setup();
    s.api.put('a', { v: '1' });
    await started(s);
    s.api.errorEvent(410, 'Expired');
    await s.clock.advance(0);
    assert.equal(s.api.lists.length, 2);
    assert.equal(s.api.openWatches, 1);
    assert.deepEqual(s.log, ['add a 1'], 'an unchanged relist reports nothing');
  });

  it('a non-410 ERROR event reconnects with backoff from the last resourceVersion', async () => {
    const s = setup();
    await started(s);
    s.api.errorEvent(500, 'InternalError');
    await s.clock.advance(0);
    assert.equal(s.api.openWatches, 0);
    await s.clock.advance(800);
    assert.equal(s.api.openWatches, 1);
    assert.equal(s.api.lists.length, 1);
  });

  it('the stall watchdog aborts a silent watch and relists', async () => {
    const s = setup({ stallTimeoutMs: 60_000 });
    s.api.put('a', { v: '1' });
    await started(s);
    s.api.silent = true;
    s.api.put('a', { v: '2' }); // lost by the silent watch
    await s.clock.advance(59_999);
    assert.equal(s.informer.stats().stalls, 0);
    await s.clock.advance(1);
    assert.equal(s.informer.stats().stalls, 1);
    assert.equal(s.api.lists.length, 2, 'relisted');
    assert.deepEqual(s.log, ['add a 1', 'update a 1->2'], 'the relist catches the lost update');
  });

  it('bookmarks keep the watchdog quiet and move the resourceVersion forward', async () => {
    const s = setup({ stallTimeoutMs: 60_000 });
    await started(s);
    for (let i = 0; i < 5; i++) {
      await s.clock.advance(50_000);
      s.api.bookmark();
    }
    assert.equal(s.informer.stats().stalls, 0);
    s.api.endWatches();
    await s.clock.advance(0);
    assert.equal(s.api.watches.at(-1)?.resourceVersion, s.api.resourceVersion, 'resumes from the bookmark');
    assert.equal(s.api.lists.length, 1);
  });

  it('a cleanly ended watch (server timeout) resumes at once without relisting', async () => {
    const s = setup({ stallTimeoutMs: 600_000 });
    s.api.put('a', { v: '1' });
    await started(s);
    await s.clock.advance(300_000 - 1);
    s.api.bookmark();
    await s.clock.advance(5000);
    s.api.endWatches();
    await s.clock.advance(0);
    assert.equal(s.api.openWatches, 1);
    assert.equal(s.api.watches.length, 2);
    assert.equal(s.api.lists.length, 1);
  });

  it('a watch that ends immediately again and again is throttled by the backoff', async () => {
    const s = setup();
    await started(s);
    s.api.endWatches();
    await s.clock.advance(0);
    assert.equal(s.api.openWatches, 0, 'an empty watch that ended within 1 s waits');
    await s.clock.advance(800);
    assert.equal(s.api.openWatches, 1);
  });

  it('a failed list is retried with backoff and the informer syncs afterwards', async () => {
    const s = setup();
    s.api.put('a', { v: '1' });
    s.api.failNextList = new ApiError('GET /api/v1/configmaps: 503 ServiceUnavailable', 503);
    s.informer.start();
    await s.clock.advance(0);
    assert.equal(s.informer.hasSynced(), false);
    await s.clock.advance(800);
    assert.equal(s.informer.hasSynced(), true);
    assert.deepEqual(s.log, ['add a 1']);
  });

  it('watches each configured namespace separately and syncs when all have listed', async () => {
    const s = setup({ namespaces: ['ns', 'other'] });
    s.api.put('a', { v: '1' }, 'ns');
    s.api.put('b', { v: '1' }, 'other');
    s.api.put('c', { v: '1' }, 'ignored');
    await started(s);
    assert.deepEqual(
      s.api.lists.map((list) => list.namespace),
      ['ns', 'other'],
    );
    assert.deepEqual(s.informer.keys().sort(), ['ns/a', 'other/b']);
    s.api.put('d', { v: '1' }, 'ignored');
    await s.clock.advance(0);
    assert.equal(s.informer.size, 2);
  });

  it('resync hands every cached object to onResync each period', async () => {
    const s = setup({ resyncPeriodMs: 600_000 });
    s.api.put('a', { v: '1' });
    s.api.put('b', { v: '1' });
    await started(s);
    await s.clock.advance(600_000);
    assert.deepEqual(s.log.filter((line) => line.startsWith('resync')).sort(), ['resync a', 'resync b']);
    await s.clock.advance(600_000);
    assert.equal(s.log.filter((line) => line.startsWith('resync')).length, 4);
  });

  it('stop ends every watch and no timers are left behind', async () => {
    const s = setup({ resyncPeriodMs: 60_000 });
    await started(s);
    await s.informer.stop();
    assert.equal(s.api.openWatches, 0);
    assert.equal(s.clock.pendingTimers(), 0);
  });
});
