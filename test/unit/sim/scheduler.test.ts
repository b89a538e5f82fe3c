import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TickScheduler } from '../../../runner/sim/scheduler.ts';

describe('TickScheduler', () => {
  it('runs items only once the tick holding their deadline has elapsed, in tick order', () => {
    let now = 0;
    const scheduler = new TickScheduler(1, () => now);
    const ran: Array<[string, number]> = [];
    const item = (name: string) => ({ onDue: (at: number) => ran.push([name, at]) });
    scheduler.schedule(item('b'), 5.2);
    scheduler.schedule(item('a'), 3);
    scheduler.schedule(item('c'), 5.9);
    scheduler.schedule(item('d'), 40);
    assert.equal(scheduler.pending, 4);

    now = 2.99;
    scheduler.runDue();
    assert.deepEqual(ran, []);
    now = 3;
    scheduler.runDue();
    assert.deepEqual(ran, [['a', 3]]);
    now = 5.5; // 5.2 rounds up to tick 6: not yet
    scheduler.runDue();
    assert.deepEqual(ran, [['a', 3]]);
    now = 6.1;
    scheduler.runDue();
    assert.deepEqual(ran, [
      ['a', 3],
      ['b', 6.1],
      ['c', 6.1],
    ]);
    assert.equal(scheduler.pending, 1);
    scheduler.stop();
    assert.equal(scheduler.pending, 0);
  });

  it('never runs an item before its deadline, for any tick size', () => {
    for (const tickMs of [0.5, 1, 4]) {
      let now = 0;
      const scheduler = new TickScheduler(tickMs, () => now);
      const deadlines = Array.from({ length: 200 }, (_, i) => (i * 7.31) % 50);
      for (const deadline of deadlines) {
        scheduler.schedule({ onDue: (at) => assert.ok(at >= deadline, `ran at ${at} before ${deadline}`) }, deadline);
      }
      for (now = 0; now <= 60; now += 0.37) scheduler.runDue();
      assert.equal(scheduler.pending, 0);
      scheduler.stop();
    }
  });

  it('lets an item reschedule itself from its callback', () => {
    let now = 0;
    const scheduler = new TickScheduler(1, () => now);
    const times: number[] = [];
    const item = {
      onDue(at: number) {
        times.push(at);
        if (times.length < 3) scheduler.schedule(item, at + 10);
      },
    };
    scheduler.schedule(item, 10);
    for (now = 0; now <= 50; now += 1) scheduler.runDue();
    assert.deepEqual(times, [10, 20, 30]);
    scheduler.stop();
  });

  it('fires on its own timer with a real clock', async () => {
    const scheduler = new TickScheduler(1);
    const deadline = performance.now() + 5;
    const ranAt = await new Promise<number>((resolve) => scheduler.schedule({ onDue: resolve }, deadline));
    assert.ok(ranAt >= deadline);
    scheduler.stop();
  });
});
