/**
 * One list+watch loop keeping a scope (one namespace, or all) of an ObjectStore in step with the apiserver, in
 * the manner of client-go's Reflector:
 * - paginated list, then a watch from the list's resourceVersion with bookmarks and a server-side timeout of
 *   120–150 s (randomized so replicas do not reconnect together); a cleanly ended watch resumes from the last
 *   resourceVersion without a relist. Shorter than client-go's 5–10 min on purpose: a healthy watch then always
 *   shows life (an event, a bookmark — the apiserver sends one every minute and just before the timeout — or a
 *   clean end) well within the 3 min stall timeout, even on apiservers without periodic bookmarks;
 * - 410 Gone / Expired (on the watch request, as an ERROR event, or on a list page) → relist;
 * - any other error or a dropped connection → reconnect from the last resourceVersion after a jittered
 *   exponential backoff (800 ms doubling to 30 s, plus up to 100% jitter);
 * - stall watchdog: no event (bookmarks included) for `stallTimeoutMs` → abort the watch and relist;
 * - a relist reports only real differences (no flood of updates after a reconnect).
 */
import type { Logger } from 'pino';
import { ApiError, isGone, type KubeStatus } from './api-error.ts';
import { JitteredBackoff, type JitteredBackoffOptions } from './backoff.ts';
import { type Clock, realClock, sleep, type TimerHandle } from './clock.ts';
import type { ListOptions, WatchEvent, WatchOptions } from './kube-client.ts';
import type { RuntimeMetrics } from './metrics.ts';
import type { ObjectStore, StoreChange } from './object-store.ts';
import { apiVersionOf, type KubeList, type KubeObject, type ResourceType } from './resources.ts';

/** The two calls a reflector needs; KubeClient provides them (see `listerWatcherFor`). */
export interface ListerWatcher<T extends KubeObject> {
  list(options: ListOptions): Promise<KubeList<T>>;
  watch(options: WatchOptions, onEvent: (event: WatchEvent<T>) => void): Promise<void>;
}

export interface ReflectorTimings {
  /** No event or bookmark for this long → restart the watch and relist. Default 3 min. */
  stallTimeoutMs?: number;
  /** Server-side watch duration is picked uniformly in [min, max] seconds. Default 120..150. */
  watchTimeoutSeconds?: { min: number; max: number };
  /** Items per list page. Default 500. */
  pageSize?: number;
  backoff?: JitteredBackoffOptions;
}

export interface ReflectorOptions<T extends KubeObject> extends ReflectorTimings {
  resource: ResourceType;
  /** undefined: every namespace (or a cluster-scoped kind). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  listerWatcher: ListerWatcher<T>;
  store: ObjectStore<T>;
  /** Applied to each object before it is stored (see InformerOptions.transform). */
  transform?: (object: T) => T;
  onChanges(changes: StoreChange<T>[]): void;
  onSynced(): void;
  logger?: Logger;
  metrics?: RuntimeMetrics;
  clock?: Clock;
  random?: () => number;
}

export type WatchOutcome = 'ended' | 'gone' | 'stalled';
export type ListReason = 'initial' | 'gone' | 'stalled';

export interface ReflectorStats {
  lists: number;
  relistsAfterGone: number;
  stalls: number;
  watchesStarted: number;
  watchErrors: number;
  lastResourceVersion: string;
}

class WatchAborted extends Error {
  readonly outcome: WatchOutcome;
  constructor(outcome: WatchOutcome) {
    super(`watch ${outcome}`);
    this.outcome = outcome;
  }
}

export class Reflector<T extends KubeObject> {
  private readonly options: ReflectorOptions<T>;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly backoff: JitteredBackoff;
  private readonly stallTimeoutMs: number;
  private readonly scope: string;
  private resourceVersion = '';
  private synced = false;
  readonly stats: ReflectorStats = {
    lists: 0,
    relistsAfterGone: 0,
    stalls: 0,
    watchesStarted: 0,
    watchErrors: 0,
    lastResourceVersion: '',
  };

  constructor(options: ReflectorOptions<T>) {
    this.options = options;
    this.clock = options.clock ?? realClock;
    this.random = options.random ?? Math.random;
    this.backoff = new JitteredBackoff({ random: this.random, ...options.backoff });
    this.stallTimeoutMs = options.stallTimeoutMs ?? 3 * 60_000;
    this.scope = `${options.resource.plural}${options.namespace ? ` in ${options.namespace}` : ''}`;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Runs until `signal` aborts; never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    let listReason: ListReason | undefined = 'initial';
    while (!signal.aborted) {
      try {
        if (listReason) {
          await this.listAll(listReason, signal);
          listReason = undefined;
        }
        const startedAt = this.clock.now();
        const { outcome, events } = await this.watchOnce(signal);
        this.restarted(outcome);
        if (outcome === 'gone') {
          this.stats.relistsAfterGone++;
          listReason = 'gone';
        } else if (outcome === 'stalled') {
          this.stats.stalls++;
          this.options.logger?.warn(
            { resource: this.scope, stallTimeoutMs: this.stallTimeoutMs },
            'watch stalled; relisting',
          );
          listReason = 'stalled';
        } else if (events === 0 && this.clock.now() - startedAt < 1000) {
          // A watch the server ends at once, again and again, must not become a hot loop.
          await sleep(this.clock, this.backoff.next(), signal);
        } else {
          this.backoff.reset();
        }
      } catch (error) {
        if (signal.aborted) break;
        if (isGone(error)) {
          this.restarted('gone');
          this.stats.relistsAfterGone++;
          listReason = 'gone';
          continue;
        }
        this.stats.watchErrors++;
        this.restarted('error');
        const delayMs = this.backoff.next();
        this.options.logger?.warn(
          { resource: this.scope, err: (error as Error).message, retryInMs: Math.round(delayMs) },
          listReason ? 'list failed; retrying' : 'watch failed; reconnecting',
        );
        try {
          await sleep(this.clock, delayMs, signal);
        } catch {
          break;
        }
      }
    }
  }

  private async listAll(reason: ListReason, signal: AbortSignal): Promise<void> {
    const { resource, namespace, labelSelector, fieldSelector, listerWatcher } = this.options;
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const page = await listerWatcher.list({
        ...(namespace ? { namespace } : {}),
        ...(labelSelector ? { labelSelector } : {}),
        ...(fieldSelector ? { fieldSelector } : {}),
        limit: this.options.pageSize ?? 500,
        ...(continueToken ? { continue: continueToken } : {}),
        signal,
      });
      for (const item of page.items) {
        // List items of built-in kinds come without apiVersion/kind; watch events have them.
        items.push(this.transformed({ apiVersion: apiVersionOf(resource), kind: resource.kind, ...item }));
      }
      continueToken = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? '';
    } while (continueToken);
    this.stats.lists++;
    this.options.metrics?.informerLists.inc({ resource: resource.plural, reason });
    const changes = this.options.store.replace(items, namespace);
    this.setResourceVersion(resourceVersion);
    if (reason !== 'initial') {
      this.options.logger?.info({ resource: this.scope, reason, changes: changes.length }, 'relisted');
    }
    if (changes.length > 0) this.options.onChanges(changes);
    if (!this.synced) {
      this.synced = true;
      this.options.onSynced();
    }
  }

  private async watchOnce(signal: AbortSignal): Promise<{ outcome: WatchOutcome; events: number }> {
    const { namespace, labelSelector, fieldSelector, listerWatcher, store } = this.options;
    // Stopped between the list and here (e.g. right after sync): an abort listener would never fire.
    signal.throwIfAborted();
    const watchAbort = new AbortController();
    const forward = () => watchAbort.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
    let watchdog: TimerHandle | undefined;
    const armWatchdog = () => {
      this.clock.clearTimeout(watchdog);
      watchdog = this.clock.setTimeout(() => watchAbort.abort(new WatchAborted('stalled')), this.stallTimeoutMs);
    };
    armWatchdog();
    let events = 0;
    let failure: ApiError | undefined;
    const range = this.options.watchTimeoutSeconds ?? { min: 120, max: 150 };
    const timeoutSeconds = Math.round(range.min + this.random() * (range.max - range.min));
    this.stats.watchesStarted++;
    try {
      await listerWatcher.watch(
        {
          ...(namespace ? { namespace } : {}),
          resourceVersion: this.resourceVersion,
          ...(labelSelector ? { labelSelector } : {}),
          ...(fieldSelector ? { fieldSelector } : {}),
          allowWatchBookmarks: true,
          timeoutSeconds,
          signal: watchAbort.signal,
          onConnected: armWatchdog,
        },
        (event) => {
          armWatchdog();
          events++;
          if (event.type === 'ERROR') {
            const status = event.object as KubeStatus;
            if (status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone') {
              watchAbort.abort(new WatchAborted('gone'));
            } else {
              failure = new ApiError(
                `WATCH ${this.scope}: error event: ${status.code ?? ''} ${status.reason ?? ''} ${status.message ?? ''}`.trim(),
                status.code ?? 0,
                status.reason,
                status,
              );
              watchAbort.abort(failure);
            }
            return;
          }
          const object = event.object as T;
          const resourceVersion = object.metadata?.resourceVersion;
          if (event.type === 'BOOKMARK') {
            if (resourceVersion) this.setResourceVersion(resourceVersion);
            return;
          }
          let change: StoreChange<T> | undefined;
          if (event.type === 'DELETED') {
            const removed = store.delete(object.metadata?.namespace, object.metadata?.name ?? '');
            if (removed) change = { type: 'deleted', object: removed };
          } else {
            change = store.upsert(this.transformed(object));
          }
          if (resourceVersion) this.setResourceVersion(resourceVersion);
          if (change) this.options.onChanges([change]);
        },
      );
      return { outcome: 'ended', events };
    } catch (error) {
      const reason = watchAbort.signal.reason;
      if (!signal.aborted && reason instanceof WatchAborted) return { outcome: reason.outcome, events };
      if (failure) throw failure;
      throw error;
    } finally {
      this.clock.clearTimeout(watchdog);
      signal.removeEventListener('abort', forward);
    }
  }

  private transformed(object: T): T {
    const { transform } = this.options;
    if (!transform) return object;
    try {
      return transform(object);
    } catch (error) {
      // Caching the whole object costs memory; dropping it would hide it from the controller.
      this.options.logger?.error(
        { resource: this.scope, name: object.metadata?.name, err: (error as Error).message },
        'informer transform failed; caching the object untransformed',
      );
      return object;
    }
  }

  private setResourceVersion(resourceVersion: string): void {
    this.resourceVersion = resourceVersion;
    this.stats.lastResourceVersion = resourceVersion;
  }

  private restarted(reason: WatchOutcome | 'error'): void {
    this.options.metrics?.informerWatchRestarts.inc({ resource: this.options.resource.plural, reason });
  }
}
