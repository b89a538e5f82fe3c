/**
 * An in-memory stand-in for one resource's list and watch endpoints, for unit tests of the reflector and
 * informer logic: a resourceVersion counter, an event history with compaction (→ 410 Gone), open watches
 * that can be dropped, ended, stalled or sent an ERROR event. Integration tests use the real apiserver.
 */
import { ApiError } from '../../../operator/runtime/api-error.ts';
import type { ListOptions, WatchEvent, WatchOptions } from '../../../operator/runtime/kube-client.ts';
import type { ListerWatcher } from '../../../operator/runtime/reflector.ts';
import type { KubeList, KubeObject, ObjectMeta } from '../../../operator/runtime/resources.ts';

export interface TestObject extends KubeObject {
  data?: Record<string, string>;
}

interface OpenWatch {
  options: WatchOptions;
  onEvent: (event: WatchEvent<TestObject>) => void;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class FakeApi implements ListerWatcher<TestObject> {
  private rv = 100;
  private readonly objects = new Map<string, TestObject>();
  private history: { rv: number; event: WatchEvent<TestObject> }[] = [];
  /** Watches from a resourceVersion below this get 410 Gone. */
  private compactedBelow = 0;
  private readonly open = new Set<OpenWatch>();
  readonly lists: ListOptions[] = [];
  readonly watches: WatchOptions[] = [];
  /** When set, the next list calls fail with this error (and it is cleared). */
  failNextList: Error | undefined;
  /** When true, watches connect but the fake never sends anything (a silent stall). */
  silent = false;

  get openWatches(): number {
    return this.open.size;
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  put(name: string, data: Record<string, string>, namespace = 'ns', metadata: Partial<ObjectMeta> = {}): TestObject {
    const key = `${namespace}/${name}`;
    const type = this.objects.has(key) ? 'MODIFIED' : 'ADDED';
    const object: TestObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { ...metadata, name, namespace, uid: `uid-${name}`, resourceVersion: String(++this.rv) },
      data,
    };
    this.objects.set(key, object);
    this.emit({ type, object });
    return object;
  }

  remove(name: string, namespace = 'ns'): void {
    const key = `${namespace}/${name}`;
    const object = this.objects.get(key);
    if (!object) return;
    this.objects.delete(key);
    const deleted = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.rv) } };
    this.emit({ type: 'DELETED', object: deleted });
  }

  /** Forgets history: watches from older resourceVersions get 410. */
  compact(): void {
    this.compactedBelow = this.rv;
    this.history = [];
  }

  bookmark(): void {
    this.rv++;
    for (const watch of this.open) {
      watch.onEvent({
        type: 'BOOKMARK',
        object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) } },
      });
    }
  }

  /** Sends an ERROR event (410 Expired by default) to every open watch and ends them. */
  errorEvent(code = 410, reason = 'Expired'): void {
    for (const watch of [...this.open]) {
      watch.onEvent({ type: 'ERROR', object: { kind: 'Status', code, reason, message: `too old resource version` } });
      this.close(watch);
    }
  }

  /** Breaks every open watch's connection. */
  dropWatches(): void {
    for (const watch of [...this.open]) {
      this.open.delete(watch);
      watch.reject(new ApiError('WATCH /api/v1/configmaps: stream broken: other side closed', 0));
    }
  }

  /** Ends every open watch cleanly (as the apiserver does after timeoutSeconds). */
  endWatches(): void {
    for (const watch of [...this.open]) this.close(watch);
  }

  async list(options: ListOptions): Promise<KubeList<TestObject>> {
    this.lists.push(options);
    if (this.failNextList) {
      const error = this.failNextList;
      this.failNextList = undefined;
      throw error;
    }
    const items = [...this.objects.values()]
      .filter((object) => !options.namespace || object.metadata?.namespace === options.namespace)
      // Built-in list items carry no apiVersion/kind.
      .map(({ apiVersion: _apiVersion, kind: _kind, ...rest }) => structuredClone(rest) as TestObject);
    return { metadata: { resourceVersion: String(this.rv) }, items };
  }

  watch(options: WatchOptions, onEvent: (event: WatchEvent<TestObject>) => void): Promise<void> {
    this.watches.push(options);
    const from = Number(options.resourceVersion ?? 0);
    if (from < this.compactedBelow) {
      return Promise.reject(new ApiError('WATCH: 410 Expired: too old resource version', 410, 'Expired'));
    }
    return new Promise((resolve, reject) => {
      const watch: OpenWatch = { options, onEvent, resolve, reject };
      this.open.add(watch);
      options.signal.addEventListener(
        'abort',
        () => {
          this.open.delete(watch);
          reject(options.signal.reason);
        },
        { once: true },
      );
      options.onConnected?.();
      if (this.silent) return;
      for (const { rv, event } of this.history) {
        if (rv > from && this.matches(options, event.object as TestObject)) onEvent(structuredClone(event));
      }
    });
  }

  private emit(event: WatchEvent<TestObject>): void {
    this.history.push({ rv: this.rv, event });
    if (this.silent) return;
    for (const watch of this.open) {
      if (this.matches(watch.options, event.object as TestObject)) watch.onEvent(structuredClone(event));
    }
  }

  private matches(options: WatchOptions, object: TestObject): boolean {
    return !options.namespace || object.metadata?.namespace === options.namespace;
  }

  private close(watch: OpenWatch): void {
    this.open.delete(watch);
    watch.resolve();
  }
}
