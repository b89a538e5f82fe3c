/**
 * List+watch with a local cache, as client-go's reflector does it: relist on 410 Gone, resume from the last
 * resourceVersion (bookmarks included) when a watch ends, and back off on errors.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type ApiClient, ApiError, type WatchEvent } from '../api-client.ts';
import type { ObjectMeta } from './types.ts';

export interface Informer<T> {
  /** Resolves after the first successful list. */
  readonly synced: Promise<void>;
  list(): T[];
  stop(): Promise<void>;
}

export interface InformerOptions<T> {
  path: string;
  fieldSelector?: string;
  onUpsert(object: T): void;
  onDelete(object: T): void;
  log(message: string): void;
}

export function startInformer<T extends { metadata: ObjectMeta }>(
  client: ApiClient,
  options: InformerOptions<T>,
): Informer<T> {
  const cache = new Map<string, T>();
  const abort = new AbortController();
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => {
    markSynced = resolve;
  });
  const keyOf = (object: T) => `${object.metadata.namespace ?? ''}/${object.metadata.name}`;

  const relist = async (): Promise<string> => {
    const list = await client.request<{ metadata: { resourceVersion: string }; items: T[] }>('GET', options.path, {
      query: { fieldSelector: options.fieldSelector },
      signal: abort.signal,
    });
    const seen = new Set<string>();
    for (const item of list.items) {
      const key = keyOf(item);
      seen.add(key);
      cache.set(key, item);
      options.onUpsert(item);
    }
    for (const [key, object] of cache) {
      if (!seen.has(key)) {
        cache.delete(key);
        options.onDelete(object);
      }
    }
    return list.metadata.resourceVersion;
  };

  const run = async () => {
    let resourceVersion: string | undefined;
    let backoffMs = 200;
    while (!abort.signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await relist();
          markSynced();
        }
        let gone = false;
        await client.watch<T>(
          options.path,
          {
            resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: 240,
            fieldSelector: options.fieldSelector,
          },
          (event: WatchEvent<T>) => {
            if (event.type === 'ERROR') {
              const status = event.object as unknown as { code?: number; message?: string };
              if (status.code === 410) gone = true;
              else options.log(`watch ${options.path}: error event ${status.message ?? JSON.stringify(status)}`);
              return;
            }
            resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
            if (event.type === 'BOOKMARK') return;
            const key = keyOf(event.object);
            if (event.type === 'DELETED') {
              cache.delete(key);
              options.onDelete(event.object);
            } else {
              cache.set(key, event.object);
              options.onUpsert(event.object);
            }
          },
          abort.signal,
        );
        if (gone) resourceVersion = undefined;
        backoffMs = 200;
      } catch (error) {
        if (abort.signal.aborted) break;
        if (error instanceof ApiError && error.status === 410) resourceVersion = undefined;
        options.log(`watch ${options.path} failed, retrying in ${backoffMs}ms: ${(error as Error).message}`);
        await sleep(backoffMs, undefined, { signal: abort.signal }).catch(() => {});
        backoffMs = Math.min(backoffMs * 2, 5_000);
      }
    }
  };
  const running = run();

  return {
    synced,
    list: () => [...cache.values()],
    stop: async () => {
      abort.abort();
      await running;
    },
  };
}
