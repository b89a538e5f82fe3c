/**
 * A shared informer: a cache of one kind (filtered by label/field selector, over one namespace, a list of
 * namespaces, or all) kept current by one Reflector per namespace, with event handlers and a periodic resync
 * that hands every cached object to the handlers again (level-based controllers use it to catch anything
 * missed). Reads never touch the apiserver; cached objects are deep-frozen.
 */
import type { Logger } from 'pino';
import { type Clock, realClock, type TimerHandle } from './clock.ts';
import type { KubeClient } from './kube-client.ts';
import type { RuntimeMetrics } from './metrics.ts';
import { ObjectStore, type StoreChange } from './object-store.ts';
import { type ListerWatcher, Reflector, type ReflectorStats, type ReflectorTimings } from './reflector.ts';
import type { KubeObject, ResourceType } from './resources.ts';

export interface EventHandler<T extends KubeObject> {
  onAdd?(object: Readonly<T>): void;
  onUpdate?(old: Readonly<T>, object: Readonly<T>): void;
  /** Gets the last known state of the object. */
  onDelete?(object: Readonly<T>): void;
  /** Every cached object, every resync period. */
  onResync?(object: Readonly<T>): void;
}

/** See `InformerOptions.transform`; runtime/transforms.ts has generic building blocks. */
export type ObjectTransform<T extends KubeObject = KubeObject> = (object: T) => T;

export interface InformerOptions<T extends KubeObject> extends ReflectorTimings {
  resource: ResourceType;
  /** The client to list and watch with (or a custom listerWatcher, e.g. in unit tests). */
  client?: KubeClient;
  listerWatcher?: ListerWatcher<T>;
  /** Namespaces to cache; undefined or empty: all namespaces. Ignored for cluster-scoped kinds. */
  namespaces?: readonly string[];
  /** e.g. `app.kubernetes.io/managed-by=loadlm-operator`, so only our objects are cached. */
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Applied to every listed or watched object before it is cached (and handed to handlers), to keep only what
   * the controller reads: the cache of a few thousand pods is mostly managedFields and specs nobody looks at.
   * Must keep metadata name, namespace, uid, resourceVersion and ownerReferences (the cache, its owner index
   * and the event mapping use them). A transform that throws is logged and the object cached as it came.
   */
  transform?: ObjectTransform<T>;
  /** Hand every cached object to `onResync` this often; default 10 min; 0 disables. */
  resyncPeriodMs?: number;
  logger?: Logger;
  metrics?: RuntimeMetrics;
  clock?: Clock;
  random?: () => number;
}

export class Informer<T extends KubeObject = KubeObject> {
  readonly resource: ResourceType;
  readonly labelSelector: string | undefined;
  readonly namespaces: readonly string[] | undefined;
  /** The transform cached objects went through, if any (pass it to `Applier.applyIfChanged` as `cachedAs`). */
  readonly transform: ObjectTransform<T> | undefined;
  private readonly store = new ObjectStore<T>();
  private readonly handlers = new Set<EventHandler<T>>();
  private readonly reflectors: Reflector<T>[];
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private readonly resyncPeriodMs: number;
  private resyncTimer: TimerHandle | undefined;
  private abort: AbortController | undefined;
  private running: Promise<void>[] = [];
  private syncWaiters: (() => void)[] = [];

  constructor(options: InformerOptions<T>) {
    this.resource = options.resource;
    this.labelSelector = options.labelSelector;
    this.transform = options.transform;
    this.clock = options.clock ?? realClock;
    this.logger = options.logger?.child({ informer: options.resource.plural });
    this.resyncPeriodMs = options.resyncPeriodMs ?? 10 * 60_000;
    const listerWatcher =
      options.listerWatcher ?? (options.client && listerWatcherFor(options.client, options.resource));
    if (!listerWatcher) throw new Error(`informer for ${options.resource.plural}: pass a client or a listerWatcher`);
    const namespaces =
      options.resource.namespaced && options.namespaces && options.namespaces.length > 0
        ? [...new Set(options.namespaces)]
        : undefined;
    this.namespaces = namespaces;
    this.reflectors = (namespaces ?? [undefined]).map(
      (namespace) =>
        new Reflector<T>({
          ...options,
          ...(namespace ? { namespace } : {}),
          listerWatcher,
          store: this.store,
          onChanges: (changes) => this.dispatch(changes),
          onSynced: () => this.checkSynced(),
          ...(this.logger ? { logger: this.logger } : {}),
        }),
    );
  }

  /** Registers handlers; objects already cached are delivered to `onAdd` at once. Returns an unsubscribe. */
  addHandler(handler: EventHandler<T>): () => void {
    this.handlers.add(handler);
    for (const object of this.store.list()) this.call(() => handler.onAdd?.(object));
    return () => this.handlers.delete(handler);
  }

  /** Starts listing and watching (idempotent). */
  start(): void {
    if (this.abort) return;
    this.abort = new AbortController();
    const signal = this.abort.signal;
    this.running = this.reflectors.map((reflector) => reflector.run(signal));
    this.scheduleResync();
  }

  /** Stops every watch and waits for the loops to end. The cache keeps its last contents. */
  async stop(): Promise<void> {
    this.clock.clearTimeout(this.resyncTimer);
    this.resyncTimer = undefined;
    this.abort?.abort(new Error('informer stopped'));
    await Promise.all(this.running);
    this.running = [];
    this.abort = undefined;
  }

  /** True once every namespace has been listed at least once. */
  hasSynced(): boolean {
    return this.reflectors.every((reflector) => reflector.hasSynced());
  }

  /** Resolves once synced; rejects when `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.hasSynced()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal?.reason ?? new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  get(namespace: string | undefined, name: string): Readonly<T> | undefined {
    return this.store.get(namespace, name);
  }

  getByKey(key: string): Readonly<T> | undefined {
    return this.store.getByKey(key);
  }

  /** Cached objects, all or of one namespace. */
  list(namespace?: string): Readonly<T>[] {
    return this.store.list(namespace);
  }

  /** Cached objects whose ownerReferences name `uid`. */
  byOwner(uid: string): Readonly<T>[] {
    return this.store.byOwner(uid);
  }

  keys(): string[] {
    return this.store.keys();
  }

  get size(): number {
    return this.store.size;
  }

  /** Counters summed over the namespaces' reflectors. */
  stats(): Omit<ReflectorStats, 'lastResourceVersion'> {
    const total = { lists: 0, relistsAfterGone: 0, stalls: 0, watchesStarted: 0, watchErrors: 0 };
    for (const { stats } of this.reflectors) {
      total.lists += stats.lists;
      total.relistsAfterGone += stats.relistsAfterGone;
      total.stalls += stats.stalls;
      total.watchesStarted += stats.watchesStarted;
      total.watchErrors += stats.watchErrors;
    }
    return total;
  }

  private dispatch(changes: StoreChange<T>[]): void {
    for (const change of changes) {
      for (const handler of this.handlers) {
        if (change.type === 'added') this.call(() => handler.onAdd?.(change.object));
        else if (change.type === 'updated') this.call(() => handler.onUpdate?.(change.old, change.object));
        else this.call(() => handler.onDelete?.(change.object));
      }
    }
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.logger?.error({ err: error }, 'informer event handler threw');
    }
  }

  private checkSynced(): void {
    if (!this.hasSynced()) return;
    for (const resolve of this.syncWaiters.splice(0)) resolve();
  }

  private scheduleResync(): void {
    if (this.resyncPeriodMs <= 0 || !this.abort) return;
    this.resyncTimer = this.clock.setTimeout(() => {
      if (this.hasSynced()) {
        for (const object of this.store.list()) {
          for (const handler of this.handlers) this.call(() => handler.onResync?.(object));
        }
      }
      this.scheduleResync();
    }, this.resyncPeriodMs);
  }
}

/** list/watch of `resource` through `client`. */
export function listerWatcherFor<T extends KubeObject>(client: KubeClient, resource: ResourceType): ListerWatcher<T> {
  return {
    list: (options) => client.list<T>(resource, options),
    watch: (options, onEvent) => client.watch<T>(resource, options, onEvent),
  };
}
