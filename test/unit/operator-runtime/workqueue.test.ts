import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ItemExponentialFailureRateLimiter } from '../../../operator/runtime/backoff.ts';
import { FakeClock, flushMicrotasks } from '../../../operator/runtime/clock.ts';
import { WorkQueue, type WorkQueueMetricsHooks } from '../../../operator/runtime/workqueue.ts';

function newQueue(options: { rateLimiter?: ItemExponentialFailureRateLimiter; metrics?: WorkQueueMetricsHooks } = {}) {
  const clock = new FakeClock();
  const queue = new WorkQueue({ name: 'test', clock, ...options });
  return { clock, queue };
}

/** Takes every key that is ready now, without waiting. */
async function drainReady(queue: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  while (queue.len() > 0) keys.push((await queue.get()) as string);
  return keys;
}

describe('WorkQueue', () => {
  it('collapses duplicate adds while a key is queued and keeps FIFO order', async () => {
    const { queue } = newQueue();
    queue.add('ns/a');
    queue.add('ns/b');
    queue.add('ns/a');
    queue.add('ns/c');
    queue.add('ns/b');
    assert.equal(queue.len(), 3);
    assert.deepEqual(await drainReady(queue), ['ns/a', 'ns/b', 'ns/c']);
  });

  it('never hands out a key that is being processed; a re-add marks it dirty and it returns after done', async () => {
    const { queue } = newQueue();
    queue.add('ns/a');
    const first = await queue.get();
    assert.equal(first, 'ns/a');
    queue.add('ns/a');
    queue.add('ns/a');
    assert.equal(queue.len(), 0, 'a key in processing is not queued again');
    let second: string | undefined;
    void queue.get().then((key) => {
      second = key;
    });
    await flushMicrotasks();
    assert.equal(second, undefined, 'the waiting worker does not get the key while it is processed');
    queue.done('ns/a');
    await flushMicrotasks();
    assert.equal(second, 'ns/a', 'the dirty key is handed out once after done');
    queue.done('ns/a');
    assert.equal(queue.len(), 0);
    assert.equal(queue.processingCount(), 0);
  });

  it('does not requeue a processed key that was not re-added', async () => {
    const { queue } = newQueue();
    queue.add('k');
    const key = await queue.get();
    queue.done(key as string);
    assert.equal(queue.len(), 0);
  });

  it('wakes waiting workers in order as keys arrive', async () => {
    const { queue } = newQueue();
    const got: (string | undefined)[] = [];
    const a = queue.get().then((key) => got.push(key));
    const b = queue.get().then((key) => got.push(key));
    queue.add('x');
    queue.add('y');
    await Promise.all([a, b]);
    assert.deepEqual(got, ['x', 'y']);
  });

  it('addRateLimited backs off exponentially per key and forget resets it', async () => {
    const { clock, queue } = newQueue({ rateLimiter: new ItemExponentialFailureRateLimiter(5, 1_000_000) });
    const delays: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = clock.now();
      queue.addRateLimited('ns/a');
      assert.equal(queue.len(), 0, 'not ready before its backoff');
      const readyAt = clock.nextTimerAt() as number;
      delays.push(readyAt - before);
      await clock.advance(readyAt - before - 1);
      assert.equal(queue.len(), 0, 'still not ready 1 ms before its backoff');
      await clock.advance(1);
      assert.equal(queue.len(), 1);
      queue.done((await queue.get()) as string);
    }
    assert.deepEqual(delays, [5, 10, 20, 40, 80]);
    assert.equal(queue.numRequeues('ns/a'), 5);
    queue.forget('ns/a');
    assert.equal(queue.numRequeues('ns/a'), 0);
    queue.addRateLimited('ns/a');
    assert.equal((clock.nextTimerAt() as number) - clock.now(), 5, 'forget restarts the backoff at the base delay');
  });

  it('keeps separate backoff per key', () => {
    const { clock, queue } = newQueue({ rateLimiter: new ItemExponentialFailureRateLimiter(5, 1_000_000) });
    queue.addRateLimited('a');
    queue.addRateLimited('a');
    queue.addRateLimited('b');
    assert.equal(queue.numRequeues('a'), 2);
    assert.equal(queue.numRequeues('b'), 1);
    assert.equal((clock.nextTimerAt() as number) - clock.now(), 5);
  });

  it('addAfter delays the key, and the earliest pending time wins', async () => {
    const { clock, queue } = newQueue();
    queue.addAfter('k', 1000);
    queue.addAfter('k', 5000);
    assert.equal(queue.delayedCount(), 1);
    await clock.advance(999);
    assert.equal(queue.len(), 0);
    await clock.advance(1);
    assert.equal(queue.len(), 1);
    await clock.advance(10_000);
    assert.equal(queue.len(), 1, 'the later addAfter was merged, not added again');

    queue.addAfter('j', 5000);
    queue.addAfter('j', 100);
    await clock.advance(100);
    assert.deepEqual(await drainReady(queue), ['k', 'j']);
    assert.equal(queue.delayedCount(), 0);
  });

  it('addAfter with no delay adds at once', () => {
    const { queue } = newQueue();
    queue.addAfter('k', 0);
    assert.equal(queue.len(), 1);
  });

  it('shutDown wakes waiting workers with undefined, ignores adds, drops delayed keys and waits for in-flight work', async () => {
    const { clock, queue } = newQueue();
    queue.add('busy');
    const busy = (await queue.get()) as string;
    const waiting = queue.get();
    queue.addAfter('later', 1000);
    queue.add('queued');
    // 'queued' went to the waiting worker; add one more that stays queued.
    assert.equal(await waiting, 'queued');
    queue.add('left');
    let drained = false;
    const shutdown = queue.shutDown().then(() => {
      drained = true;
    });
    assert.equal(await queue.get(), undefined, 'no more work is handed out');
    queue.add('new');
    assert.equal(queue.len(), 1, 'adds after shutdown are ignored');
    await clock.advance(2000);
    assert.equal(queue.len(), 1, 'delayed adds are dropped');
    await flushMicrotasks();
    assert.equal(drained, false, 'shutdown waits for keys being processed');
    queue.done(busy);
    await flushMicrotasks();
    assert.equal(drained, false);
    queue.done('queued');
    await shutdown;
    assert.equal(drained, true);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('shutDown resolves at once when nothing is in flight', async () => {
    const { queue } = newQueue();
    await queue.shutDown();
    assert.equal(queue.isShuttingDown(), true);
  });

  it('reports metrics: adds, depth, latency, work duration, retries, unfinished work', async () => {
    const events: string[] = [];
    const metrics: WorkQueueMetricsHooks = {
      added: () => events.push('added'),
      depth: (depth) => events.push(`depth=${depth}`),
      queued: (seconds) => events.push(`queued=${seconds}`),
      worked: (seconds) => events.push(`worked=${seconds}`),
      retried: () => events.push('retried'),
    };
    const { clock, queue } = newQueue({ metrics, rateLimiter: new ItemExponentialFailureRateLimiter(5, 100) });
    queue.add('a');
    await clock.advance(250);
    const key = (await queue.get()) as string;
    await clock.advance(1500);
    assert.equal(queue.unfinishedWorkSeconds(), 1.5);
    assert.equal(queue.longestRunningProcessorSeconds(), 1.5);
    queue.done(key);
    queue.addRateLimited('a');
    assert.deepEqual(events, ['added', 'depth=1', 'depth=0', 'queued=0.25', 'worked=1.5', 'retried']);
    assert.equal(queue.unfinishedWorkSeconds(), 0);
  });
});
