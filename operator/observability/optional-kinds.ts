/**
 * prometheus-operator's and grafana-operator's kinds may not be installed, may appear later, or may go away. A
 * list+watch of a missing kind fails and, before the manager starts, would hold every controller back (the
 * manager waits for all caches). So these kinds are looked up with API discovery (`GET /apis/<group>/<version>`,
 * a small document; cached for `discoveryTtlMs`) and their informers are created only once the kinds are
 * served, and then kept. A missing kind is reported by the caller as a condition and looked up again later:
 * no crash, no error loop.
 */
import type { Logger } from 'pino';
import { isNotFound } from '../runtime/api-error.ts';
import type { Informer, InformerSpec, ObjectTransform } from '../runtime/index.ts';
import type { KubeClient } from '../runtime/kube-client.ts';
import type { KubeObject, ResourceType } from '../runtime/resources.ts';

export type InformerFactory = <T extends KubeObject>(resource: ResourceType, spec?: InformerSpec<T>) => Informer<T>;

export interface OptionalKindsOptions {
  client: KubeClient;
  informer: InformerFactory;
  /** Label selector and transform of the informers for our own objects (the kinds in `owned`). */
  ownedSelector: string;
  ownedTransform?: ObjectTransform;
  /** Transform of the informers for the kinds in `read`. */
  readTransform?: ObjectTransform;
  /** Called with every new informer, to route its events to the controller. */
  onInformer: (resource: ResourceType, informer: Informer) => void;
  discoveryTtlMs?: number;
  /** Longest wait for a new informer's first list. */
  syncTimeoutMs?: number;
  logger?: Logger;
  now?: () => number;
}

/** A group/version whose kinds come and go together. */
export interface KindSet {
  group: string;
  version: string;
  /** Kinds whose objects we create (cached with `ownedSelector`). */
  owned: readonly ResourceType[];
  /** Kinds we only read (cached without a selector). */
  read: readonly ResourceType[];
}

export type KindSetState =
  | { installed: false; missing: string[] }
  | { installed: true; informers: ReadonlyMap<string, Informer> };

interface Discovery {
  at: number;
  plurals: Set<string> | undefined;
}

export class OptionalKinds {
  private readonly options: OptionalKindsOptions;
  private readonly discoveryTtlMs: number;
  private readonly now: () => number;
  private readonly discovery = new Map<string, Discovery>();
  private readonly informers = new Map<string, Informer>();

  constructor(options: OptionalKindsOptions) {
    this.options = options;
    this.discoveryTtlMs = options.discoveryTtlMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** Whether every kind of `set` is served; if so, their informers (created and synced on first use). */
  async state(set: KindSet, signal: AbortSignal): Promise<KindSetState> {
    const plurals = await this.served(set, signal);
    const kinds = [...set.owned, ...set.read];
    const missing = kinds.filter((kind) => !plurals?.has(kind.plural)).map((kind) => `${kind.plural}.${set.group}`);
    if (missing.length > 0) return { installed: false, missing };
    const informers = new Map<string, Informer>();
    for (const kind of kinds) {
      informers.set(kind.plural, await this.informerFor(kind, set.owned.includes(kind), signal));
    }
    return { installed: true, informers };
  }

  private async served(set: KindSet, signal: AbortSignal): Promise<Set<string> | undefined> {
    const key = `${set.group}/${set.version}`;
    const cached = this.discovery.get(key);
    if (cached && this.now() - cached.at < this.discoveryTtlMs) return cached.plurals;
    let plurals: Set<string> | undefined;
    try {
      const list = await this.options.client.request<{ resources?: { name: string }[] }>('GET', `/apis/${key}`, {
        signal,
      });
      plurals = new Set((list.resources ?? []).map((resource) => resource.name));
    } catch (error) {
      if (!isNotFound(error)) throw error;
      plurals = undefined;
    }
    if (cached && (cached.plurals === undefined) !== (plurals === undefined)) {
      this.options.logger?.info({ api: key, served: plurals !== undefined }, 'API group availability changed');
    }
    this.discovery.set(key, { at: this.now(), plurals });
    return plurals;
  }

  private async informerFor(kind: ResourceType, owned: boolean, signal: AbortSignal): Promise<Informer> {
    const key = `${kind.group}/${kind.plural}`;
    let informer = this.informers.get(key);
    if (!informer) {
      const transform = owned ? this.options.ownedTransform : this.options.readTransform;
      informer = this.options.informer<KubeObject>(kind, {
        ...(owned ? { labelSelector: this.options.ownedSelector } : {}),
        ...(transform ? { transform } : {}),
      });
      this.informers.set(key, informer);
      this.options.onInformer(kind, informer);
      this.options.logger?.info({ kind: kind.kind }, 'started watching');
    }
    if (!informer.hasSynced()) {
      const timeout = AbortSignal.timeout(this.options.syncTimeoutMs ?? 30_000);
      await informer.waitForSync(AbortSignal.any([signal, timeout]));
    }
    return informer;
  }
}
