/**
 * The manager wires the runtime together: one API client, shared informers (caches run on every replica, so a
 * standby is warm), controllers whose workers run only while this replica holds the leader Lease, an event
 * recorder, a server-side-apply helper, and the HTTP endpoints (/healthz, /readyz once every cache has synced,
 * /metrics).
 *
 * Shutdown (`stop()`, or SIGTERM via `stopOnSignals()`): readiness fails, controllers stop taking work and
 * in-flight reconciles get up to `gracefulShutdownTimeoutMs` to finish, the lease is released so a standby
 * takes over at once, pending events are flushed, then watches, the HTTP server and connections close.
 */
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { Applier } from './apply.ts';
import { type Clock, realClock } from './clock.ts';
import { Controller, type ControllerOptions } from './controller.ts';
import { EventRecorder } from './events.ts';
import { HealthServer } from './health-server.ts';
import { Informer, type InformerOptions } from './informer.ts';
import { KubeClient } from './kube-client.ts';
import { type ClusterConnection, loadConnection } from './kube-config.ts';
import { defaultIdentity, type LeaderElectionTimings, LeaderElector, LeadershipLostError } from './leader-election.ts';
import { RuntimeMetrics } from './metrics.ts';
import type { KubeObject, ResourceType } from './resources.ts';

export interface LeaderElectionConfig extends LeaderElectionTimings {
  /** Namespace and name of the Lease, e.g. the operator's namespace and `loadlm-operator`. */
  namespace: string;
  name: string;
  /** Default `<POD_NAME or hostname>_<random>`. */
  identity?: string;
}

export interface ManagerOptions {
  /** How to reach the apiserver: a connection (see kube-config.ts), a client-node KubeConfig, or neither to use
   * `loadConnection()` ($KUBECONFIG, in-cluster, ~/.kube/config). */
  connection?: ClusterConnection;
  kubeConfig?: KubeConfig;
  logger: Logger;
  /** Namespaces informers cache by default; undefined or empty: all namespaces. */
  namespaces?: readonly string[];
  /** A Lease to coordinate replicas; `false` runs controllers at once (a single replica, or tests). */
  leaderElection: LeaderElectionConfig | false;
  /** Serve /healthz, /readyz and /metrics; port 0 picks a free port. Omit for no server. */
  http?: { port: number; host?: string };
  /** Registry for /metrics; default a new one with Node's process metrics. */
  registry?: Registry;
  /** How long shutdown waits for in-flight reconciles; default 30 s. */
  gracefulShutdownTimeoutMs?: number;
  /** Informer defaults (see InformerOptions). */
  resyncPeriodMs?: number;
  stallTimeoutMs?: number;
  /** Field manager for server-side apply; default `loadlm-operator`. */
  fieldManager?: string;
  clock?: Clock;
}

export type InformerSpec<T extends KubeObject> = Omit<
  InformerOptions<T>,
  'resource' | 'client' | 'listerWatcher' | 'logger' | 'metrics' | 'clock'
>;

export type ManagedControllerOptions<P extends KubeObject> = Omit<
  ControllerOptions<P>,
  'logger' | 'metrics' | 'clock'
> &
  Partial<Pick<ControllerOptions<P>, 'logger'>>;

export class Manager {
  readonly client: KubeClient;
  readonly metrics: RuntimeMetrics;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly applier: Applier;
  readonly events: EventRecorder;
  /** This replica's identity (leader election, events' reportingInstance). */
  readonly identity: string;
  private readonly options: ManagerOptions;
  private readonly clock: Clock;
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly transformIds = new Map<(object: never) => unknown, number>();
  private readonly controllers: Controller<KubeObject>[] = [];
  private readonly elector: LeaderElector | undefined;
  private readonly gracefulShutdownTimeoutMs: number;
  private health: HealthServer | undefined;
  private lifetime = new AbortController();
  private running: Promise<void> | undefined;
  private controllersRunning: Promise<void> | undefined;
  private started = false;
  private stopping: Promise<void> | undefined;

  private constructor(options: ManagerOptions, client: KubeClient, metrics: RuntimeMetrics, identity: string) {
    this.options = options;
    this.client = client;
    this.metrics = metrics;
    this.registry = metrics.registry;
    this.logger = options.logger;
    this.identity = identity;
    this.clock = options.clock ?? realClock;
    this.gracefulShutdownTimeoutMs = options.gracefulShutdownTimeoutMs ?? 30_000;
    this.applier = new Applier(client, options.fieldManager ? { fieldManager: options.fieldManager } : {});
    this.events = new EventRecorder({
      client,
      reportingInstance: identity,
      logger: options.logger.child({ component: 'events' }),
      clock: this.clock,
    });
    const election = options.leaderElection;
    if (election) {
      this.elector = new LeaderElector({
        ...election,
        identity,
        client,
        logger: options.logger.child({ component: 'leader-election' }),
        metrics,
        clock: this.clock,
        onStartedLeading: (signal) => {
          this.controllersRunning = this.runControllers(signal);
        },
        onStoppedLeading: () => this.controllersRunning,
      });
    }
  }

  static async create(options: ManagerOptions): Promise<Manager> {
    const metrics = new RuntimeMetrics(options.registry ?? new Registry());
    const client = options.connection
      ? KubeClient.fromConnection(options.connection, { metrics })
      : options.kubeConfig
        ? await KubeClient.fromKubeConfig(options.kubeConfig, { metrics })
        : KubeClient.fromConnection(await loadConnection(), { metrics });
    const identity = (options.leaderElection ? options.leaderElection.identity : undefined) || defaultIdentity();
    return new Manager(options, client, metrics, identity);
  }

  /**
   * The shared informer for `resource` with these selectors and transform (created on first use; started by
   * `start()`). Namespaces default to the manager's. The same selectors with another transform function get an
   * informer of their own: a cache is shared only by callers that read the same fields.
   */
  informer<T extends KubeObject>(resource: ResourceType, spec: InformerSpec<T> = {}): Informer<T> {
    const namespaces = spec.namespaces ?? this.options.namespaces;
    const key = JSON.stringify([
      resource.group,
      resource.plural,
      spec.labelSelector ?? '',
      spec.fieldSelector ?? '',
      [...(namespaces ?? [])].sort(),
      spec.transform ? this.transformId(spec.transform as (object: never) => unknown) : 0,
    ]);
    let informer = this.informers.get(key);
    if (!informer) {
      informer = new Informer<KubeObject>({
        ...(this.options.resyncPeriodMs !== undefined ? { resyncPeriodMs: this.options.resyncPeriodMs } : {}),
        ...(this.options.stallTimeoutMs !== undefined ? { stallTimeoutMs: this.options.stallTimeoutMs } : {}),
        ...(spec as unknown as InformerSpec<KubeObject>),
        ...(namespaces ? { namespaces } : {}),
        resource,
        client: this.client,
        logger: this.logger,
        metrics: this.metrics,
        clock: this.clock,
      });
      this.informers.set(key, informer);
      if (this.started) informer.start();
    }
    return informer as unknown as Informer<T>;
  }

  private transformId(transform: (object: never) => unknown): number {
    let id = this.transformIds.get(transform);
    if (id === undefined) {
      id = this.transformIds.size + 1;
      this.transformIds.set(transform, id);
    }
    return id;
  }

  /** Adds a controller; its workers run while this replica leads. Add controllers before `start()`. */
  addController<P extends KubeObject>(options: ManagedControllerOptions<P>): Controller<P> {
    if (this.started) throw new Error(`add controller ${options.name} before starting the manager`);
    if (this.controllers.some((controller) => controller.name === options.name)) {
      throw new Error(`a controller named ${options.name} already exists`);
    }
    const controller = new Controller<P>({
      ...options,
      logger: options.logger ?? this.logger,
      metrics: this.metrics,
      clock: this.clock,
    });
    this.controllers.push(controller as unknown as Controller<KubeObject>);
    return controller;
  }

  /** Starts the HTTP server, the informers and leader election (or the controllers directly). */
  async start(): Promise<void> {
    if (this.started) throw new Error('the manager is already started');
    this.started = true;
    if (this.options.http) {
      this.health = new HealthServer({
        registry: this.registry,
        healthChecks: { ping: () => true },
        readyChecks: {
          'informers-synced': () => {
            const pending = [...this.informers.values()].filter((informer) => !informer.hasSynced());
            return (
              pending.length === 0 || `not synced: ${pending.map((informer) => informer.resource.plural).join(', ')}`
            );
          },
          shutdown: () => (this.stopping ? 'shutting down' : true),
        },
      });
      const address = await this.health.listen(this.options.http.port, this.options.http.host);
      this.logger.info({ address: `${address.address}:${address.port}` }, 'serving /healthz, /readyz and /metrics');
    }
    for (const informer of this.informers.values()) informer.start();
    const signal = this.lifetime.signal;
    this.running = this.elector ? this.elector.run(signal) : this.runControllers(signal);
    const election = this.options.leaderElection;
    this.logger.info(
      { identity: this.identity, lease: election ? `${election.namespace}/${election.name}` : false },
      'manager started',
    );
  }

  /** Resolves once every informer has listed. */
  async waitForCacheSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.informers.values()].map((informer) => informer.waitForSync(signal)));
  }

  hasSynced(): boolean {
    return [...this.informers.values()].every((informer) => informer.hasSynced());
  }

  /** True while this replica holds the lease (always true without leader election, once started). */
  isLeader(): boolean {
    return this.elector ? this.elector.isLeader() : this.started && !this.stopping;
  }

  /** The holder of the lease as last observed. */
  currentLeader(): string | undefined {
    return this.elector ? this.elector.currentLeader() : this.identity;
  }

  httpAddress(): AddressInfo | undefined {
    return this.health?.address();
  }

  /** Graceful shutdown; safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** Stops gracefully on SIGTERM/SIGINT. Returns a function that removes the handlers. */
  stopOnSignals(signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): () => void {
    const handler = (signal: NodeJS.Signals) => {
      this.logger.info({ signal }, 'shutting down');
      void this.stop();
    };
    for (const signal of signals) process.once(signal, handler);
    return () => {
      for (const signal of signals) process.off(signal, handler);
    };
  }

  private async shutdown(): Promise<void> {
    const started = this.clock.now();
    this.lifetime.abort(new Error('manager stopped'));
    await this.running;
    await Promise.race([this.events.flush(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    for (const controller of this.controllers) controller.dispose();
    await Promise.all([...this.informers.values()].map((informer) => informer.stop()));
    await this.health?.close();
    await this.client.close();
    this.logger.info({ tookMs: this.clock.now() - started }, 'manager stopped');
  }

  /** Runs every controller until `signal` aborts (leadership ends or shutdown), once the caches have synced. */
  private async runControllers(signal: AbortSignal): Promise<void> {
    try {
      await this.waitForCacheSync(signal);
    } catch {
      return;
    }
    const timings = this.elector;
    // After losing the lease another replica may start after leaseDuration − renewDeadline: drain within that.
    const lostDrainMs = timings ? Math.max(0, timings.leaseDurationMs - timings.renewDeadlineMs - 1_000) : 0;
    await Promise.all(
      this.controllers.map((controller) =>
        controller.run(signal, {
          drainTimeoutMs: (reason) =>
            reason instanceof LeadershipLostError ? lostDrainMs : this.gracefulShutdownTimeoutMs,
        }),
      ),
    );
  }
}
