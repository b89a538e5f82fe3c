import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ApiError } from '../../../operator/runtime/api-error.ts';
import { FakeClock } from '../../../operator/runtime/clock.ts';
import type { KubeClient } from '../../../operator/runtime/kube-client.ts';
import {
  LeaderElector,
  LeadershipLostError,
  type Lease,
  microTime,
} from '../../../operator/runtime/leader-election.ts';

/** One Lease with resourceVersion checks, like the apiserver; `down` makes every call fail. */
class FakeLeases {
  lease: Lease | undefined;
  private rv = 1;
  down = false;
  writes = 0;

  asClient(): KubeClient {
    return this as unknown as KubeClient;
  }

  async getIfExists(): Promise<Lease | undefined> {
    this.check();
    return this.lease && structuredClone(this.lease);
  }

  async create(_resource: unknown, lease: Lease): Promise<Lease> {
    this.check();
    if (this.lease) throw new ApiError('POST: 409 AlreadyExists', 409, 'AlreadyExists');
    return this.store(lease);
  }

  async replace(_resource: unknown, lease: Lease): Promise<Lease> {
    this.check();
    if (lease.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) {
      throw new ApiError('PUT: 409 Conflict', 409, 'Conflict');
    }
    return this.store(lease);
  }

  /** Another replica writes the lease directly. */
  takeOver(holder: string, now: number): void {
    this.store({
      metadata: { name: 'lease', namespace: 'ns', resourceVersion: this.lease?.metadata?.resourceVersion ?? '' },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: 15,
        renewTime: microTime(now),
        acquireTime: microTime(now),
      },
    });
  }

  private store(lease: Lease): Lease {
    this.writes++;
    this.lease = structuredClone({ ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } });
    return structuredClone(this.lease);
  }

  private check(): void {
    if (this.down) throw new ApiError('connection refused', 0);
  }
}

interface Elected {
  elector: LeaderElector;
  events: string[];
  signals: AbortSignal[];
  stop: AbortController;
  running: Promise<void>;
}

const running: Elected[] = [];
afterEach(async () => {
  for (const elected of running.splice(0)) {
    elected.stop.abort();
  }
});

function elect(leases: FakeLeases, clock: FakeClock, identity: string): Elected {
  const events: string[] = [];
  const signals: AbortSignal[] = [];
  const stop = new AbortController();
  const elector = new LeaderElector({
    client: leases.asClient(),
    namespace: 'ns',
    name: 'lease',
    identity,
    clock,
    onStartedLeading: (signal) => {
      events.push('started');
      signals.push(signal);
    },
    onStoppedLeading: () => {
      events.push('stopped');
    },
  });
  const elected = { elector, events, signals, stop, running: elector.run(stop.signal) };
  running.push(elected);
  return elected;
}

describe('LeaderElector (client-go semantics on a fake clock)', () => {
  it('microTime has six fractional digits', () => {
    assert.equal(microTime(Date.UTC(2025, 0, 1, 0, 0, 0, 123)), '2025-01-01T00:00:00.123000Z');
  });

  it('rejects timings where a lost leader could overlap the next one', () => {
    const leases = new FakeLeases();
    const base = { client: leases.asClient(), namespace: 'ns', name: 'l', onStartedLeading: () => {} };
    assert.throws(
      () => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }),
      /leaseDurationMs/,
    );
    assert.throws(
      () => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }),
      /renewDeadlineMs/,
    );
  });

  it('creates the lease, leads, and renews it every retry period', async () => {
    const leases = new FakeLeases();
    const clock = new FakeClock();
    const a = elect(leases, clock, 'a');
    await clock.advance(0);
    assert.equal(a.elector.isLeader(), true);
    assert.deepEqual(a.events, ['started']);
    assert.equal(leases.lease?.spec?.holderIdentity, 'a');
    assert.equal(leases.lease?.spec?.leaseDurationSeconds, 15);
    assert.equal(leases.lease?.spec?.leaseTransitions, 0);
    const writes = leases.writes;
    await clock.advance(10_000);
    assert.equal(leases.writes - writes, 5, 'one renewal per 2 s');
    assert.equal(leases.lease?.spec?.renewTime, microTime(clock.now()));
  });

  it('a second candidate waits while the lease is renewed, and takes over once it expires', async () => {
    const leases = new FakeLeases();
    const clock = new FakeClock();
    const a = elect(leases, clock, 'a');
    await clock.advance(0);
    const b = elect(leases, clock, 'b');
    await clock.advance(30_000);
    assert.equal(b.elector.isLeader(), false);
    assert.equal(b.elector.currentLeader(), 'a');

    // a's API access breaks: it keeps trying until the renew deadline, then stops leading.
    leases.down = true;
    const brokeAt = clock.now();
    await clock.advance(9_000);
    assert.equal(a.elector.isLeader(), true, 'still within the renew deadline');
    await clock.advance(3_000);
    assert.equal(a.elector.isLeader(), false);
    assert.ok(a.signals[0]?.aborted);
    assert.ok(a.signals[0]?.reason instanceof LeadershipLostError);
    assert.deepEqual(a.events, ['started', 'stopped']);
    assert.equal(b.elector.isLeader(), false, 'b cannot lead while the API is down either');

    // a crashes while the API is down (its release cannot go through); then the API comes back.
    a.stop.abort();
    await a.running;
    leases.down = false;
    await clock.advance(1_000);
    assert.equal(b.elector.isLeader(), false, 'the lease a renewed last has not expired yet');
    // b could not see a's last renewal during the outage: it counts 15 s from when it first sees it, then
    // takes over at its next attempt (every 2 s, jittered up to 4.4 s; the first look may also be 4.4 s late).
    await clock.advance(15_000 + 10_000);
    assert.equal(b.elector.isLeader(), true, 'b took over after the lease expired');
    assert.ok(clock.now() - brokeAt >= 15_000);
    assert.equal(leases.lease?.spec?.holderIdentity, 'b');
    assert.equal(leases.lease?.spec?.leaseTransitions, 1);
  });

  it('a leader that lost the lease campaigns again and may win its own unexpired lease back', async () => {
    const leases = new FakeLeases();
    const clock = new FakeClock();
    const a = elect(leases, clock, 'a');
    await clock.advance(0);
    leases.down = true;
    await clock.advance(12_000);
    assert.equal(a.elector.isLeader(), false);
    leases.down = false;
    await clock.advance(5_000);
    assert.equal(a.elector.isLeader(), true);
    assert.deepEqual(a.events, ['started', 'stopped', 'started']);
    assert.equal(a.signals.length, 2);
    assert.ok(a.signals[0]?.aborted && !a.signals[1]?.aborted, 'each term has its own signal');
  });

  it('measures expiry from when it observed the last change, not from the renewTime written by another clock', async () => {
    const leases = new FakeLeases();
    const clock = new FakeClock();
    // A holder whose clock is an hour behind: by its renewTime the lease looks long expired.
    leases.takeOver('skewed', clock.now() - 3_600_000);
    const b = elect(leases, clock, 'b');
    await clock.advance(10_000);
    assert.equal(b.elector.isLeader(), false, 'the record was first seen 10 s ago: not expired yet');
    await clock.advance(10_000);
    assert.equal(b.elector.isLeader(), true);
  });

  it('loses leadership at once when another replica has written the lease', async () => {
    const leases = new FakeLeases();
    const clock = new FakeClock();
    const a = elect(leases, clock, 'a');
    await clock.advance(0);
    leases.takeOver('intruder', clock.now());
    await clock.advance(2_000);
    await clock.advance(2_000);
    assert.equal(a.elector.isLeader(), false);
    assert.ok(a.signals[0]?.reason instanceof LeadershipLostError);
  });

  it('releases the lease on stop after onStoppedLeading (holder empty, duration 1 s)', async () => {
    const leases = new FakeLeases();
    const clock = new FakeClock();
    const a = elect(leases, clock, 'a');
    await clock.advance(0);
    a.stop.abort();
    await a.running;
    assert.deepEqual(a.events, ['started', 'stopped']);
    assert.equal(leases.lease?.spec?.holderIdentity, undefined);
    assert.equal(leases.lease?.spec?.leaseDurationSeconds, 1);
    assert.ok(a.signals[0]?.aborted);
    assert.ok(!(a.signals[0]?.reason instanceof LeadershipLostError), 'a stop is not a loss');

    const b = elect(leases, clock, 'b');
    await clock.advance(0);
    assert.equal(b.elector.isLeader(), true, 'a released lease is taken at once');
  });
});
