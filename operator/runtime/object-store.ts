/**
 * The informer cache: objects by namespace and name, plus an index by owner UID. Stored objects are deep-frozen
 * when they come in, so a reader can never corrupt the cache by mutating what it got (it gets a TypeError
 * instead); mutate a `structuredClone` of it.
 */
import { type KubeObject, keyOf, objectKey } from './resources.ts';

export type StoreChange<T> =
  | { type: 'added'; object: Readonly<T> }
  | { type: 'updated'; old: Readonly<T>; object: Readonly<T> }
  | { type: 'deleted'; object: Readonly<T> };

export class ObjectStore<T extends KubeObject> {
  /** namespace ('' for cluster-scoped) → name → object. */
  private readonly byNamespace = new Map<string, Map<string, Readonly<T>>>();
  /** owner UID → keys of objects that list it in ownerReferences. */
  private readonly ownerIndex = new Map<string, Set<string>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(namespace: string | undefined, name: string): Readonly<T> | undefined {
    return this.byNamespace.get(namespace ?? '')?.get(name);
  }

  getByKey(key: string): Readonly<T> | undefined {
    const slash = key.indexOf('/');
    return slash === -1 ? this.get(undefined, key) : this.get(key.slice(0, slash), key.slice(slash + 1));
  }

  /** Every object, or those of one namespace. */
  list(namespace?: string): Readonly<T>[] {
    if (namespace !== undefined) return [...(this.byNamespace.get(namespace)?.values() ?? [])];
    const all: Readonly<T>[] = [];
    for (const objects of this.byNamespace.values()) all.push(...objects.values());
    return all;
  }

  keys(): string[] {
    const keys: string[] = [];
    for (const [namespace, objects] of this.byNamespace) {
      for (const name of objects.keys()) keys.push(keyOf(namespace, name));
    }
    return keys;
  }

  /** Objects whose ownerReferences name `uid`. */
  byOwner(uid: string): Readonly<T>[] {
    const keys = this.ownerIndex.get(uid);
    if (!keys) return [];
    const owned: Readonly<T>[] = [];
    for (const key of keys) {
      const object = this.getByKey(key);
      if (object) owned.push(object);
    }
    return owned;
  }

  /** Inserts or replaces; returns what changed, or undefined when the same resourceVersion is already stored. */
  upsert(object: T): StoreChange<T> | undefined {
    const { namespace, name } = nameOf(object);
    let objects = this.byNamespace.get(namespace);
    if (!objects) {
      objects = new Map();
      this.byNamespace.set(namespace, objects);
    }
    const old = objects.get(name);
    if (
      old &&
      old.metadata?.resourceVersion === object.metadata?.resourceVersion &&
      old.metadata?.uid === object.metadata?.uid
    ) {
      return undefined;
    }
    const frozen = deepFreeze(object);
    objects.set(name, frozen);
    const key = keyOf(namespace, name);
    if (old) this.unindex(key, old);
    else this.count++;
    this.index(key, frozen);
    return old ? { type: 'updated', old, object: frozen } : { type: 'added', object: frozen };
  }

  /** Removes the object with this namespace/name; returns the removed (last known) object. */
  delete(namespace: string | undefined, name: string): Readonly<T> | undefined {
    const objects = this.byNamespace.get(namespace ?? '');
    const old = objects?.get(name);
    if (!objects || !old) return undefined;
    objects.delete(name);
    if (objects.size === 0) this.byNamespace.delete(namespace ?? '');
    this.count--;
    this.unindex(keyOf(namespace ?? '', name), old);
    return old;
  }

  /**
   * Makes the store hold exactly `objects` within a scope (one namespace, or everything when `namespace` is
   * undefined), as after a relist. Only real differences are reported: unchanged resourceVersions are not.
   */
  replace(objects: T[], namespace: string | undefined): StoreChange<T>[] {
    const changes: StoreChange<T>[] = [];
    const seen = new Set<string>();
    for (const object of objects) {
      seen.add(objectKey(object));
      const change = this.upsert(object);
      if (change) changes.push(change);
    }
    const scope = namespace === undefined ? this.list() : this.list(namespace);
    for (const old of scope) {
      if (seen.has(objectKey(old))) continue;
      const removed = this.delete(old.metadata?.namespace, old.metadata?.name ?? '');
      if (removed) changes.push({ type: 'deleted', object: removed });
    }
    return changes;
  }

  private index(key: string, object: Readonly<T>): void {
    for (const reference of object.metadata?.ownerReferences ?? []) {
      let keys = this.ownerIndex.get(reference.uid);
      if (!keys) {
        keys = new Set();
        this.ownerIndex.set(reference.uid, keys);
      }
      keys.add(key);
    }
  }

  private unindex(key: string, object: Readonly<T>): void {
    for (const reference of object.metadata?.ownerReferences ?? []) {
      const keys = this.ownerIndex.get(reference.uid);
      keys?.delete(key);
      if (keys?.size === 0) this.ownerIndex.delete(reference.uid);
    }
  }
}

function nameOf(object: KubeObject): { namespace: string; name: string } {
  const name = object.metadata?.name;
  if (!name) throw new Error('cannot cache an object without metadata.name');
  return { namespace: object.metadata?.namespace ?? '', name };
}

/** Freezes an object graph in place (JSON data: plain objects and arrays). */
export function deepFreeze<T>(value: T): Readonly<T> {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  for (const child of Object.values(value as object)) deepFreeze(child);
  return Object.freeze(value);
}
