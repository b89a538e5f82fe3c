import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ItemExponentialFailureRateLimiter,
  JitteredBackoff,
  jitter,
  MaxOfRateLimiter,
} from '../../../operator/runtime/backoff.ts';
import { FakeClock } from '../../../operator/runtime/clock.ts';

describe('ItemExponentialFailureRateLimiter', () => {
  it('doubles from 5 ms per failure and caps at 1000 s', () => {
    const limiter = new ItemExponentialFailureRateLimiter();
    const delays = Array.from({ length: 25 }, () => limiter.when('k'));
    assert.deepEqual(delays.slice(0, 5), [5, 10, 20, 40, 80]);
    // 5 ms × 2^17 = 655 s is the last step under the cap; after that it stays at 1000 s.
    assert.equal(delays[17], 655_360);
    assert.equal(delays[18], 1_000_000);
    assert.equal(delays[24], 1_000_000);
    assert.ok(delays.every((delay) => delay <= 1_000_000));
  });

  it('stays at the cap (no overflow) after very many failures', () => {
    const limiter = new ItemExponentialFailureRateLimiter(5, 1_000_000);
    for (let i = 0; i < 2000; i++) limiter.when('k');
    assert.equal(limiter.when('k'), 1_000_000);
  });

  it('counts failures per key and forget resets one key', () => {
    const limiter = new ItemExponentialFailureRateLimiter(5, 1000);
    limiter.when('a');
    limiter.when('a');
    limiter.when('b');
    limiter.forget('a');
    assert.equal(limiter.numRequeues('a'), 0);
    assert.equal(limiter.numRequeues('b'), 1);
    assert.equal(limiter.when('a'), 5);
  });

  it('rejects nonsensical settings with the field name', () => {
    assert.throws(() => new ItemExponentialFailureRateLimiter(0, 10), /baseDelayMs/);
    assert.throws(() => new ItemExponentialFailureRateLimiter(10, 5), /maxDelayMs/);
  });
});

describe('BucketRateLimiter', () => {
  it('lets a burst through without delay, then spaces requests at 1/qps', () => {
    const clock = new FakeClock();
    const bucket = new BucketRateLimiter(10, 100, clock);
    const burst = Array.from({ length: 100 }, (_, i) => bucket.when(`k${i}`));
    assert.ok(burst.every((delay) => delay === 0));
    assert.deepEqual([bucket.when('x'), bucket.when('y'), bucket.when('z')], [100, 200, 300]);
  });

  it('refills over time', async () => {
    const clock = new FakeClock();
    const bucket = new BucketRateLimiter(10, 2, clock);
    bucket.when('a');
    bucket.when('b');
    assert.equal(bucket.when('c'), 100);
    await clock.advance(1000);
    assert.equal(bucket.when('d'), 0);
  });
});

describe('MaxOfRateLimiter / defaultControllerRateLimiter', () => {
  it('takes the longest delay and records the failure in every limiter', () => {
    const clock = new FakeClock();
    const limiter = new MaxOfRateLimiter(
      new ItemExponentialFailureRateLimiter(5, 1000),
      new BucketRateLimiter(1, 1, clock),
    );
    assert.equal(limiter.when('a'), 5, 'bucket has a token; the per-key delay wins');
    assert.equal(limiter.when('a'), 1000, 'bucket is empty: 1 s at 1 qps');
    assert.equal(limiter.numRequeues('a'), 2);
    limiter.forget('a');
    assert.equal(limiter.numRequeues('a'), 0);
  });

  it('defaults to 5 ms base with a 10 qps / burst 100 bucket', () => {
    const clock = new FakeClock();
    const limiter = defaultControllerRateLimiter({ clock });
    const delays = Array.from({ length: 101 }, (_, i) => limiter.when(`key-${i}`));
    assert.ok(delays.slice(0, 100).every((delay) => delay === 5));
    assert.equal(delays[100], 100, 'the 101st failure in the same instant waits for the bucket');
  });
});

describe('jitter and JitteredBackoff', () => {
  it('jitter stretches by up to maxFactor', () => {
    assert.equal(
      jitter(1000, 1, () => 0),
      1000,
    );
    assert.equal(
      jitter(1000, 1, () => 0.5),
      1500,
    );
    assert.equal(
      jitter(1000, 0.1, () => 0.999),
      1099.9,
    );
    assert.equal(
      jitter(1000, 0, () => 0.9),
      1000,
    );
  });

  it('grows by the factor, caps, and adds jitter on top of the capped delay', () => {
    const backoff = new JitteredBackoff({ initialMs: 800, maxMs: 30_000, factor: 2, jitter: 1, random: () => 0 });
    const delays = Array.from({ length: 8 }, () => backoff.next());
    assert.deepEqual(delays, [800, 1600, 3200, 6400, 12_800, 25_600, 30_000, 30_000]);
    const jittered = new JitteredBackoff({ initialMs: 800, maxMs: 30_000, random: () => 0.5 });
    assert.equal(jittered.next(), 1200);
  });

  it('reset starts over', () => {
    const backoff = new JitteredBackoff({ random: () => 0 });
    backoff.next();
    backoff.next();
    assert.equal(backoff.attempts, 2);
    backoff.reset();
    assert.equal(backoff.next(), 800);
  });

  it('random jitter stays within [d, 2d)', () => {
    const backoff = new JitteredBackoff({ initialMs: 100, maxMs: 100 });
    for (let i = 0; i < 200; i++) {
      const delay = backoff.next();
      assert.ok(delay >= 100 && delay < 200, `delay ${delay}`);
    }
  });
});
