/**
 * An in-memory ConfigMapApi for the hand-off's unit tests: apply replaces data/binaryData (what server-side
 * apply does for keys one manager owns), list-by-name returns a resourceVersion, watches receive later changes.
 * Calls can be made to fail, to exercise retries and permanent errors.
 */
import { type ConfigMapApi, KubeApiError, type WatchByNameOptions } from '../../../runner/handoff/kube-api.ts';
import type { ConfigMapObject } from '../../../runner/handoff/protocol.ts';

type Method = 'apply' | 'getByName' | 'watchByName';

export class FakeConfigMapApi implements ConfigMapApi {
  readonly objects = new Map<string, ConfigMapObject>();
  readonly applied: ConfigMapObject[] = [];
  readonly calls: Method[] = [];
  private version = 1;
  private readonly failures: { method: Method; error: Error }[] = [];
  private readonly watchers = new Set<{ name: string; options: WatchByNameOptions }>();
  /** Resolves the pending apply calls one at a time when set (to test coalescing). */
  private gate: Promise<void> | undefined;

  failNext(method: Method, error: Error, times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push({ method, error });
  }

  holdApplies(): () => void {
    let release = () => {};
    this.gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    return () => {
      this.gate = undefined;
      release();
    };
  }

  /** Writes an object as another party (the operator) would, notifying watchers. */
  put(configMap: ConfigMapObject): void {
    const stored = this.store(configMap);
    for (const watcher of this.watchers) {
      if (watcher.name === stored.metadata.name) watcher.options.onEvent('MODIFIED', stored);
    }
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  async apply(configMap: ConfigMapObject): Promise<ConfigMapObject> {
    this.calls.push('apply');
    await this.gate;
    this.throwIfFailing('apply');
    this.applied.push(structuredClone(configMap));
    return this.store(configMap);
  }

  async getByName(_namespace: string, name: string) {
    this.calls.push('getByName');
    this.throwIfFailing('getByName');
    return { configMap: this.objects.get(name), resourceVersion: String(this.version) };
  }

  watchByName(_namespace: string, name: string, options: WatchByNameOptions): Promise<void> {
    this.calls.push('watchByName');
    try {
      this.throwIfFailing('watchByName');
    } catch (error) {
      return Promise.reject(error);
    }
    if (options.signal.aborted) return Promise.reject(options.signal.reason ?? new Error('aborted'));
    return new Promise((resolve, reject) => {
      const watcher = { name, options };
      this.watchers.add(watcher);
      const end = (error?: unknown) => {
        clearTimeout(timer);
        this.watchers.delete(watcher);
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(() => end(), options.timeoutSeconds * 1000);
      options.signal.addEventListener('abort', () => end(options.signal.reason ?? new Error('aborted')), {
        once: true,
      });
    });
  }

  private store(configMap: ConfigMapObject): ConfigMapObject {
    const stored = structuredClone(configMap);
    stored.metadata.resourceVersion = String(++this.version);
    this.objects.set(stored.metadata.name, stored);
    return stored;
  }

  private throwIfFailing(method: Method): void {
    const index = this.failures.findIndex((failure) => failure.method === method);
    if (index === -1) return;
    const [failure] = this.failures.splice(index, 1);
    throw failure?.error;
  }
}

export const forbidden = () => new KubeApiError(403, 'Forbidden', 'configmaps "x" is forbidden: User cannot patch');
export const unavailable = () =>
  new KubeApiError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request');
export const gone = () => new KubeApiError(410, 'Expired', 'too old resource version');
