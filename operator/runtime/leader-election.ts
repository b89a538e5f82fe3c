/**
 * Leader election on a coordination.k8s.io/v1 Lease, following client-go's leaderelection package:
 * - acquire: a Lease whose holder is empty, is us, or has not been renewed for leaseDuration (measured on our
 *   own clock from when we last saw the record change, so clock skew between replicas does not matter);
 * - every write is a PUT with the observed resourceVersion (or a create); 409 means another replica won;
 * - the leader renews every retryPeriod; when no renewal succeeded for renewDeadline it gives up leadership
 *   (its signal aborts) before the lease can expire for others (leaseDuration > renewDeadline);
 * - on shutdown the leader releases the Lease (holder empty, leaseDurationSeconds 1) so a standby takes over at
 *   once instead of waiting for expiry (client-go's ReleaseOnCancel).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { ApiError, isAlreadyExists, isConflict, isNotFound } from './api-error.ts';
import { jitter } from './backoff.ts';
import { type Clock, realClock, sleep } from './clock.ts';
import type { KubeClient } from './kube-client.ts';
import type { RuntimeMetrics } from './metrics.ts';
import { type KubeObject, resources } from './resources.ts';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export interface LeaderElectionTimings {
  /** How long a lease is valid without renewal; default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before giving up; default 10 s. */
  renewDeadlineMs?: number;
  /** Interval between attempts to acquire or renew; default 2 s. */
  retryPeriodMs?: number;
}

export interface LeaderElectorOptions extends LeaderElectionTimings {
  client: KubeClient;
  /** The Lease's namespace and name. */
  namespace: string;
  name: string;
  /** Unique per replica; default `<POD_NAME or hostname>_<random>`. */
  identity?: string;
  /** Called when this replica becomes leader; `signal` aborts when leadership ends (lost or stopped). */
  onStartedLeading(signal: AbortSignal): void;
  /** Called when leadership ends; awaited before the lease is released. */
  onStoppedLeading?(): Promise<void> | void;
  /** Called when a different holder is observed. */
  onNewLeader?(identity: string): void;
  /** Release the lease when `run`'s signal aborts; default true. */
  releaseOnCancel?: boolean;
  logger?: Logger;
  metrics?: RuntimeMetrics;
  clock?: Clock;
}

/** The reason of the leadership signal when renewals failed past the deadline or another replica took over. */
export class LeadershipLostError extends Error {
  override name = 'LeadershipLostError';
}

export function defaultIdentity(): string {
  const base = process.env.POD_NAME || hostname();
  return `${base}_${randomBytes(4).toString('hex')}`;
}

/** metav1.MicroTime wants exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  private readonly options: LeaderElectorOptions;
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  /** The Lease as last read or written. */
  private observed: Lease | undefined;
  /** Our clock's time when the holder/renewTime last changed. */
  private observedAt = 0;
  private leading = false;
  private lastHolder: string | undefined;

  constructor(options: LeaderElectorOptions) {
    this.options = options;
    this.identity = options.identity ?? defaultIdentity();
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(this.leaseDurationMs > this.renewDeadlineMs)) {
      throw new Error(
        `leader election: leaseDurationMs (${this.leaseDurationMs}) must be greater than renewDeadlineMs (${this.renewDeadlineMs})`,
      );
    }
    if (!(this.renewDeadlineMs > this.retryPeriodMs * 1.2)) {
      throw new Error(
        `leader election: renewDeadlineMs (${this.renewDeadlineMs}) must be greater than 1.2 × retryPeriodMs (${this.retryPeriodMs})`,
      );
    }
    if (!options.identity && options.identity !== undefined) throw new Error('leader election: identity is empty');
    this.clock = options.clock ?? realClock;
    this.logger = options.logger?.child({ lease: `${options.namespace}/${options.name}`, identity: this.identity });
    options.metrics?.leaderStatus.set({ name: options.name }, 0);
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder last seen on the Lease (possibly us), if any. */
  currentLeader(): string | undefined {
    return this.observed?.spec?.holderIdentity || undefined;
  }

  /**
   * Campaigns until `signal` aborts: acquire, lead while renewals succeed, and after losing the lease campaign
   * again. On abort, a leader stops leading (awaiting onStoppedLeading) and releases the lease.
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const acquired = await this.acquire(signal);
      if (!acquired) break;
      await this.lead(signal);
    }
  }

  /** Retries every retryPeriod (jittered) until we hold the lease; false when aborted first. */
  private async acquire(signal: AbortSignal): Promise<boolean> {
    this.logger?.info('attempting to acquire leader lease');
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew(signal)) {
        this.logger?.info('acquired leader lease');
        return true;
      }
      try {
        await sleep(this.clock, jitter(this.retryPeriodMs, 1.2), signal);
      } catch {
        return false;
      }
    }
    return false;
  }

  private async lead(signal: AbortSignal): Promise<void> {
    const leadership = new AbortController();
    this.setLeading(true);
    try {
      this.options.onStartedLeading(leadership.signal);
    } catch (error) {
      this.logger?.error({ err: error }, 'onStartedLeading threw');
    }
    let lastRenew = this.clock.now();
    let lost = false;
    while (!signal.aborted) {
      try {
        await sleep(this.clock, this.retryPeriodMs, signal);
      } catch {
        break;
      }
      if (await this.tryAcquireOrRenew(signal, lastRenew + this.renewDeadlineMs - this.clock.now())) {
        lastRenew = this.clock.now();
        continue;
      }
      if (signal.aborted) break;
      const heldByOther = this.currentLeader() !== undefined && this.currentLeader() !== this.identity;
      if (heldByOther || this.clock.now() - lastRenew >= this.renewDeadlineMs) {
        lost = true;
        this.logger?.warn(
          { holder: this.currentLeader(), sinceLastRenewMs: this.clock.now() - lastRenew },
          'lost leader lease; stopping work',
        );
        break;
      }
    }
    this.setLeading(false);
    leadership.abort(lost ? new LeadershipLostError('leader lease lost') : new Error('leader election stopped'));
    try {
      await this.options.onStoppedLeading?.();
    } catch (error) {
      this.logger?.error({ err: error }, 'onStoppedLeading threw');
    }
    if (!lost && signal.aborted && this.options.releaseOnCancel !== false) await this.release();
  }

  /**
   * One attempt: create the Lease, or take it over / renew it with a PUT at the observed resourceVersion.
   * Never throws; false when someone else holds it or the API call failed.
   */
  private async tryAcquireOrRenew(signal: AbortSignal, timeoutMs = this.retryPeriodMs * 5): Promise<boolean> {
    const { client, namespace, name } = this.options;
    const now = this.clock.now();
    const requestOptions = { signal, timeoutMs: Math.max(500, Math.floor(timeoutMs)) };
    try {
      // The leader renews from the Lease it wrote last; a 409 sends it back to read the current one.
      let current = this.leading ? this.observed : undefined;
      if (!current) {
        current = await client.getIfExists<Lease>(resources.leases, namespace, name);
        if (!current) {
          const created = await client.create<Lease>(resources.leases, this.desiredLease(undefined, now), {
            signal,
          });
          this.observe(created, now);
          return true;
        }
        this.observe(current, now);
      }
      const spec = current.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
      if (holder && holder !== this.identity && this.observedAt + durationMs > now) return false;
      const updated = await client.replace<Lease>(resources.leases, this.desiredLease(current, now), requestOptions);
      this.observe(updated, now);
      return true;
    } catch (error) {
      if (signal.aborted) return false;
      if (isConflict(error) || isAlreadyExists(error)) {
        // Someone else wrote it; read it fresh next time.
        this.observed = undefined;
        if (this.leading) {
          const fresh = await client.getIfExists<Lease>(resources.leases, namespace, name).catch(() => undefined);
          if (fresh) this.observe(fresh, this.clock.now());
        }
        return false;
      }
      if (isNotFound(error)) this.observed = undefined;
      this.logger?.warn({ err: error instanceof ApiError ? error.message : String(error) }, 'lease request failed');
      return false;
    }
  }

  private desiredLease(current: Lease | undefined, now: number): Lease {
    const spec = current?.spec ?? {};
    const wasUs = spec.holderIdentity === this.identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.options.name,
        namespace: this.options.namespace,
        ...(current?.metadata?.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}),
      },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
        acquireTime: wasUs && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: wasUs ? (spec.leaseTransitions ?? 0) : current ? (spec.leaseTransitions ?? 0) + 1 : 0,
      },
    };
  }

  private observe(lease: Lease, now: number): void {
    const before = this.observed?.spec;
    const after = lease.spec;
    if (
      !before ||
      before.holderIdentity !== after?.holderIdentity ||
      before.renewTime !== after?.renewTime ||
      this.observed?.metadata?.resourceVersion !== lease.metadata?.resourceVersion
    ) {
      this.observedAt = now;
    }
    this.observed = lease;
    const holder = after?.holderIdentity || undefined;
    if (holder && holder !== this.lastHolder) {
      this.lastHolder = holder;
      if (holder !== this.identity) this.logger?.info({ holder }, 'new leader observed');
      try {
        this.options.onNewLeader?.(holder);
      } catch (error) {
        this.logger?.error({ err: error }, 'onNewLeader threw');
      }
    }
  }

  /** Gives the lease up if we still hold it, so another replica can take over at once. */
  private async release(): Promise<void> {
    const current = this.observed;
    if (!current || current.spec?.holderIdentity !== this.identity) return;
    const now = this.clock.now();
    const released: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...current.metadata, managedFields: undefined } as Lease['metadata'],
      spec: {
        leaseTransitions: current.spec?.leaseTransitions ?? 0,
        leaseDurationSeconds: 1,
        acquireTime: microTime(now),
        renewTime: microTime(now),
      },
    };
    try {
      this.observed = await this.options.client.replace<Lease>(resources.leases, released, { timeoutMs: 5_000 });
      this.logger?.info('released leader lease');
    } catch (error) {
      this.logger?.warn(
        { err: error instanceof ApiError ? error.message : String(error) },
        'releasing the lease failed',
      );
    }
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.options.metrics?.leaderStatus.set({ name: this.options.name }, leading ? 1 : 0);
  }
}
