/**
 * A controller in the controller-runtime model: informer events become `namespace/name` keys of the primary
 * kind (its own key, or the controlling owner's key for owned kinds) in a rate-limited work queue, and N
 * workers call the reconciler with one key at a time — never the same key twice at once.
 *
 * A reconcile's outcome decides what happens to its key:
 * - resolves (no requeue) → backoff forgotten;
 * - resolves `{ requeueAfterMs }` → backoff forgotten, key queued again after the delay;
 * - resolves `{ requeue: true }` → queued again with backoff;
 * - throws → counted as an error, queued again with per-key exponential backoff (5 ms .. 1000 s);
 * - throws a TerminalError → counted, logged, not retried (a later change to the object brings it back).
 *
 * Workers run only while `run(signal)` runs (the manager calls it when this replica becomes leader); events
 * that arrive in between are dropped, because a new run starts by queueing every cached primary object.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { RateLimiter } from './backoff.ts';
import { type Clock, realClock } from './clock.ts';
import type { EventHandler, Informer } from './informer.ts';
import type { RuntimeMetrics } from './metrics.ts';
import { groupOf, type KubeObject, keyOf, objectKey, type ResourceType, splitKey } from './resources.ts';
import { WorkQueue, type WorkQueueMetricsHooks } from './workqueue.ts';

export interface ReconcileRequest {
  /** `namespace/name` (or `name` for cluster-scoped kinds). */
  key: string;
  namespace: string | undefined;
  name: string;
}

export interface ReconcileContext extends ReconcileRequest {
  /** Child logger with controller, namespace, name and reconcileID. */
  log: Logger;
  /** Aborts when this replica stops working (leadership lost, or shutdown after the drain timeout). */
  signal: AbortSignal;
  reconcileID: string;
  /** How many times in a row this key has failed before this attempt. */
  retries: number;
}

export type ReconcileResult = { requeueAfterMs?: number; requeue?: boolean } | undefined;

// biome-ignore lint/suspicious/noConfusingVoidType: a reconciler that never requeues may return nothing
export type Reconciler = (context: ReconcileContext) => Promise<ReconcileResult | void>;

/** An error that retrying cannot fix (e.g. an invalid spec): logged and counted, not requeued. */
export class TerminalError extends Error {
  override name = 'TerminalError';
}

/** Maps an object of a watched kind to the primary keys to reconcile. */
export type MapFunction<T extends KubeObject = KubeObject> = (object: Readonly<T>) => string[];

export interface WatchSource<T extends KubeObject = KubeObject> {
  informer: Informer<T>;
  map: MapFunction<T>;
}

/**
 * Maps an object to the key of its controlling owner of kind `owner` (same namespace), if any — how owned
 * kinds (Jobs, Pods, ConfigMaps of a LoadTest) reach the LoadTest's reconcile.
 */
export function mapToController(owner: ResourceType): MapFunction {
  return (object) => {
    const reference = object.metadata?.ownerReferences?.find(
      (candidate) =>
        candidate.controller === true && candidate.kind === owner.kind && groupOf(candidate.apiVersion) === owner.group,
    );
    return reference ? [keyOf(object.metadata?.namespace, reference.name)] : [];
  };
}

export interface ControllerOptions<P extends KubeObject = KubeObject> {
  /** Names the controller in logs and metrics, e.g. `loadtest`. */
  name: string;
  reconcile: Reconciler;
  /** The primary kind: every change of one of its objects queues that object's key. */
  for: Informer<P>;
  /** Kinds the primary kind controls: a change queues the key of the controlling ownerReference. */
  owns?: Informer[];
  /** Other kinds with a custom mapping to primary keys. */
  watches?: WatchSource[];
  /** Default 1, like controller-runtime. */
  maxConcurrentReconciles?: number;
  /** Default: per-key 5 ms .. 1000 s combined with 10 qps / burst 100. */
  rateLimiter?: RateLimiter;
  logger: Logger;
  metrics?: RuntimeMetrics;
  clock?: Clock;
}

export class Controller<P extends KubeObject = KubeObject> {
  readonly name: string;
  readonly maxConcurrentReconciles: number;
  private readonly options: ControllerOptions<P>;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private queue: WorkQueue | undefined;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly queueHooks: WorkQueueMetricsHooks | undefined;

  constructor(options: ControllerOptions<P>) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(options.name)) {
      throw new Error(`controller name "${options.name}": expected lower-case letters, digits and "-"`);
    }
    const workers = options.maxConcurrentReconciles ?? 1;
    if (!Number.isInteger(workers) || workers < 1) {
      throw new Error(`controller ${options.name}: maxConcurrentReconciles must be a positive integer, got ${workers}`);
    }
    this.name = options.name;
    this.maxConcurrentReconciles = workers;
    this.options = options;
    this.clock = options.clock ?? realClock;
    this.logger = options.logger.child({ controller: options.name });
    this.queueHooks = options.metrics?.workQueueHooks(options.name, () => this.queue);
    options.metrics?.maxConcurrentReconciles.set({ controller: this.name }, workers);
    options.metrics?.activeWorkers.set({ controller: this.name }, 0);

    const primary = options.for;
    this.watch(primary, (object) => [objectKey(object)]);
    const toOwner = mapToController(primary.resource);
    for (const informer of options.owns ?? []) this.watch(informer, toOwner);
    for (const source of options.watches ?? []) this.watch(source.informer, source.map);
  }

  /** Queues a key (ignored while the controller is not running). */
  enqueue(key: string): void {
    this.queue?.add(key);
  }

  /** Queues a key after a delay (ignored while the controller is not running). */
  enqueueAfter(key: string, delayMs: number): void {
    this.queue?.addAfter(key, delayMs);
  }

  isRunning(): boolean {
    return this.queue !== undefined && !this.queue.isShuttingDown();
  }

  /**
   * Runs workers until `signal` aborts, then stops taking work and waits up to `drainTimeoutMs` for in-flight
   * reconciles, after which their signal aborts. Starts by queueing every cached primary object.
   */
  async run(
    signal: AbortSignal,
    options: { drainTimeoutMs?: number | ((reason: unknown) => number) } = {},
  ): Promise<void> {
    if (this.queue) throw new Error(`controller ${this.name} is already running`);
    const queue = new WorkQueue({
      name: this.name,
      clock: this.clock,
      ...(this.options.rateLimiter ? { rateLimiter: this.options.rateLimiter } : {}),
      ...(this.queueHooks ? { metrics: this.queueHooks } : {}),
    });
    this.queue = queue;
    const hardStop = new AbortController();
    for (const key of this.options.for.keys()) queue.add(key);
    this.logger.info({ workers: this.maxConcurrentReconciles }, 'starting workers');
    const workers = Array.from({ length: this.maxConcurrentReconciles }, () => this.worker(queue, hardStop.signal));

    if (!signal.aborted)
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    this.logger.info({ inFlight: queue.processingCount() }, 'stopping workers');
    const drainTimeoutMs =
      typeof options.drainTimeoutMs === 'function'
        ? options.drainTimeoutMs(signal.reason)
        : (options.drainTimeoutMs ?? 30_000);
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = this.clock.setTimeout(() => resolve('timeout'), drainTimeoutMs);
    });
    const outcome = await Promise.race([queue.shutDown().then(() => 'drained' as const), timedOut]);
    this.clock.clearTimeout(timer);
    if (outcome === 'timeout') {
      this.logger.warn(
        { inFlight: queue.processingCount(), drainTimeoutMs },
        'in-flight reconciles did not finish in time; aborting them',
      );
    }
    hardStop.abort(signal.reason ?? new Error('controller stopped'));
    // A reconcile that ignores its signal cannot be killed; do not let it hold shutdown up for long.
    let graceTimer: ReturnType<Clock['setTimeout']> | undefined;
    const grace = new Promise<'stuck'>((resolve) => {
      graceTimer = this.clock.setTimeout(() => resolve('stuck'), 1_000);
    });
    if ((await Promise.race([Promise.all(workers), grace])) === 'stuck') {
      this.logger.error(
        { inFlight: queue.processingCount() },
        'a reconcile ignores its abort signal; leaving it behind',
      );
    }
    this.clock.clearTimeout(graceTimer);
    if (this.queue === queue) this.queue = undefined;
  }

  /** Removes the informer handlers (the informers themselves belong to the manager). */
  dispose(): void {
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
  }

  private watch<T extends KubeObject>(informer: Informer<T>, map: MapFunction<T>): void {
    const enqueue = (...objects: Readonly<T>[]) => {
      if (!this.queue) return;
      const keys = new Set<string>();
      try {
        for (const object of objects) for (const key of map(object)) keys.add(key);
      } catch (error) {
        this.logger.error({ err: error, resource: informer.resource.plural }, 'mapping an event to keys failed');
        return;
      }
      for (const key of keys) this.queue.add(key);
    };
    const handler: EventHandler<T> = {
      onAdd: enqueue,
      // Both: an owned object may have moved to another owner. One add per distinct key.
      onUpdate: (old, object) => enqueue(old, object),
      onDelete: enqueue,
      onResync: enqueue,
    };
    this.unsubscribe.push(informer.addHandler(handler));
  }

  private async worker(queue: WorkQueue, hardStop: AbortSignal): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await this.reconcileKey(queue, key, hardStop);
      } finally {
        queue.done(key);
      }
    }
  }

  private async reconcileKey(queue: WorkQueue, key: string, signal: AbortSignal): Promise<void> {
    const { metrics } = this.options;
    const labels = { controller: this.name };
    const { namespace, name } = splitKey(key);
    const reconcileID = randomUUID();
    const log = this.logger.child({ namespace, name, reconcileID });
    const retries = queue.numRequeues(key);
    metrics?.activeWorkers.inc(labels);
    const started = performance.now();
    try {
      const result =
        (await this.options.reconcile({ key, namespace, name, log, signal, reconcileID, retries })) ?? undefined;
      if (result?.requeue) {
        queue.addRateLimited(key);
        metrics?.reconcileTotal.inc({ ...labels, result: 'requeue' });
      } else if (result?.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
        queue.forget(key);
        queue.addAfter(key, result.requeueAfterMs);
        metrics?.reconcileTotal.inc({ ...labels, result: 'requeue_after' });
      } else {
        queue.forget(key);
        metrics?.reconcileTotal.inc({ ...labels, result: 'success' });
      }
    } catch (error) {
      metrics?.reconcileTotal.inc({ ...labels, result: 'error' });
      metrics?.reconcileErrors.inc(labels);
      if (error instanceof TerminalError) {
        metrics?.terminalReconcileErrors.inc(labels);
        queue.forget(key);
        log.error({ err: error }, 'reconcile failed with a terminal error; not retrying');
      } else {
        queue.addRateLimited(key);
        log.error({ err: error, retries: retries + 1 }, 'reconcile failed; retrying with backoff');
      }
    } finally {
      metrics?.activeWorkers.dec(labels);
      metrics?.reconcileTime.observe(labels, (performance.now() - started) / 1000);
    }
  }
}
