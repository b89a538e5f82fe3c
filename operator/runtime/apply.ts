/**
 * Server-side apply under one field manager (`loadlm-operator`, force on: we own these objects), for any kind,
 * plus status writes through the `/status` subresource, with no-op detection so a steady-state reconcile makes
 * no API writes:
 * - objects: the desired object carries a hash of itself in the `loadlm.dev/applied-hash` annotation. Apply is
 *   needed when the cached object's hash differs (our desired state changed, including removed fields), when
 *   the cached object no longer contains every desired field (someone else changed it), or when our field
 *   manager does not own it yet;
 * - status: the operator is its only writer, so a deep comparison with the cached status decides.
 * Desired objects should use the apiserver's canonical forms (e.g. quantity `1` rather than `1000m`), or the
 * containment check will see a difference after every apply (extra writes, never a loop: an apply that
 * changes nothing does not bump resourceVersion).
 */
import { createHash } from 'node:crypto';
import { ApiError } from './api-error.ts';
import type { KubeClient } from './kube-client.ts';
import { apiVersionOf, type KubeObject, type ResourceType } from './resources.ts';

export const defaultFieldManager = 'loadlm-operator';
export const appliedHashAnnotation = 'loadlm.dev/applied-hash';

export interface ApplyOptions {
  /** Take over fields other managers own; default true (the operator owns what it applies). */
  force?: boolean;
  signal?: AbortSignal;
}

export interface ApplyIfChangedOptions extends ApplyOptions {
  /**
   * The informer transform `current` was cached through (Informer.transform). It is applied to a copy of the
   * desired object too, so fields the cache drops are not taken for fields someone removed. What it drops is
   * then only covered by the applied-hash (our own changes), not by the containment check (others' changes).
   */
  cachedAs?: ((object: KubeObject) => KubeObject) | undefined;
}

export interface ApplyResult<T> {
  /** False when the cached object already matched and no request was made. */
  changed: boolean;
  object: Readonly<T>;
}

export class Applier {
  readonly fieldManager: string;
  private readonly client: KubeClient;

  constructor(client: KubeClient, options: { fieldManager?: string } = {}) {
    this.client = client;
    this.fieldManager = options.fieldManager ?? defaultFieldManager;
  }

  /** Server-side apply of `desired` (apiVersion/kind default from `resource`); returns the object as stored. */
  async apply<T extends KubeObject>(resource: ResourceType, desired: T, options: ApplyOptions = {}): Promise<T> {
    const body = withTypeMeta(resource, desired);
    const { namespace, name } = requireName(resource, body);
    try {
      return await this.client.patch<T>(resource, namespace, name, body, 'apply', {
        fieldManager: this.fieldManager,
        force: options.force ?? true,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      throw withContext(error, this.fieldManager, `apply ${resource.kind} ${namespace ? `${namespace}/` : ''}${name}`);
    }
  }

  /**
   * Applies `desired` unless `current` (the cached object) already matches it. The applied object carries
   * the desired state's hash in the `loadlm.dev/applied-hash` annotation.
   */
  async applyIfChanged<T extends KubeObject>(
    resource: ResourceType,
    desired: T,
    current: Readonly<T> | undefined,
    options: ApplyIfChangedOptions = {},
  ): Promise<ApplyResult<T>> {
    const stamped = withAppliedHash(withTypeMeta(resource, desired));
    if (current && !needsApply(stamped, current, this.fieldManager, options.cachedAs)) {
      return { changed: false, object: current };
    }
    const { cachedAs: _cachedAs, ...applyOptions } = options;
    return { changed: true, object: await this.apply(resource, stamped, applyOptions) };
  }

  /** Server-side apply of `status` through the `/status` subresource. */
  async applyStatus<T extends KubeObject>(
    resource: ResourceType,
    namespace: string | undefined,
    name: string,
    status: unknown,
    options: ApplyOptions = {},
  ): Promise<T> {
    const body = {
      apiVersion: apiVersionOf(resource),
      kind: resource.kind,
      metadata: { name, ...(namespace ? { namespace } : {}) },
      status,
    };
    try {
      return await this.client.patch<T>(resource, namespace, name, body, 'apply', {
        fieldManager: this.fieldManager,
        force: options.force ?? true,
        subresource: 'status',
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      throw withContext(
        error,
        this.fieldManager,
        `apply status of ${resource.kind} ${namespace ? `${namespace}/` : ''}${name}`,
      );
    }
  }

  /** Applies `status` unless it equals the cached object's status. */
  async applyStatusIfChanged<T extends KubeObject & { status?: unknown }>(
    resource: ResourceType,
    current: Readonly<T>,
    status: T['status'],
    options: ApplyOptions = {},
  ): Promise<ApplyResult<T>> {
    if (deepEqual(stripUndefined(status), current.status)) return { changed: false, object: current };
    const { namespace, name } = requireName(resource, current);
    return { changed: true, object: await this.applyStatus<T>(resource, namespace, name, status, options) };
  }

  /** JSON merge patch of `/status` (for writers that do not want apply semantics). */
  async mergePatchStatus<T extends KubeObject>(
    resource: ResourceType,
    namespace: string | undefined,
    name: string,
    statusPatch: unknown,
    options: { signal?: AbortSignal } = {},
  ): Promise<T> {
    try {
      return await this.client.patch<T>(resource, namespace, name, { status: statusPatch }, 'merge', {
        fieldManager: this.fieldManager,
        subresource: 'status',
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      throw withContext(
        error,
        this.fieldManager,
        `patch status of ${resource.kind} ${namespace ? `${namespace}/` : ''}${name}`,
      );
    }
  }
}

/**
 * Whether applying `desired` (already stamped with its hash) would change `current`; `cachedAs` is the transform
 * `current` was cached through (see ApplyIfChangedOptions). Only the manager, operation and subresource of
 * `current`'s managedFields entries are read (runtime/transforms.ts slimManagedFields keeps exactly those).
 */
export function needsApply(
  desired: KubeObject,
  current: Readonly<KubeObject>,
  fieldManager = defaultFieldManager,
  cachedAs?: (object: KubeObject) => KubeObject,
): boolean {
  const wantedHash = desired.metadata?.annotations?.[appliedHashAnnotation];
  if (wantedHash !== undefined && current.metadata?.annotations?.[appliedHashAnnotation] !== wantedHash) return true;
  const managed = current.metadata?.managedFields;
  if (
    managed &&
    !managed.some((entry) => entry.manager === fieldManager && entry.operation === 'Apply' && !entry.subresource)
  ) {
    return true;
  }
  return !containsDesired(cachedAs ? cachedAs(structuredClone(desired)) : desired, current);
}

/** Every field `desired` sets is present with the same value in `current` (metadata: labels, annotations, owners). */
export function containsDesired(desired: KubeObject, current: Readonly<KubeObject>): boolean {
  const wanted = desired.metadata ?? {};
  const actual = current.metadata ?? {};
  if (!isSubset(wanted.labels, actual.labels) || !isSubset(wanted.annotations, actual.annotations)) return false;
  for (const reference of wanted.ownerReferences ?? []) {
    const match = actual.ownerReferences?.find((candidate) => candidate.uid === reference.uid);
    if (!match || !isSubset(reference, match)) return false;
  }
  for (const [key, value] of Object.entries(desired)) {
    if (key === 'metadata' || key === 'status' || key === 'apiVersion' || key === 'kind') continue;
    if (!isSubset(value, (current as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/**
 * `wanted` is contained in `actual`: equal primitives; objects whose every defined key is contained; arrays of
 * the same length whose items are contained pairwise (server defaults inside items are allowed).
 */
export function isSubset(wanted: unknown, actual: unknown): boolean {
  if (wanted === undefined) return true;
  if (wanted === null || typeof wanted !== 'object')
    return wanted === actual || (wanted === null && actual === undefined);
  if (Array.isArray(wanted)) {
    return (
      Array.isArray(actual) && actual.length === wanted.length && wanted.every((item, i) => isSubset(item, actual[i]))
    );
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
  return Object.entries(wanted).every(([key, value]) => isSubset(value, (actual as Record<string, unknown>)[key]));
}

/** Structural equality of JSON values (key order ignored; undefined-valued keys count as absent). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  const left = Object.entries(a).filter(([, value]) => value !== undefined);
  const right = Object.entries(b).filter(([, value]) => value !== undefined);
  if (left.length !== right.length) return false;
  return left.every(([key, value]) => deepEqual(value, (b as Record<string, unknown>)[key]));
}

/** A short stable hash of a JSON value (sorted keys). */
export function hashOf(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex').slice(0, 16);
}

/** `desired` with apiVersion/kind from `resource` when missing. */
export function withTypeMeta<T extends KubeObject>(resource: ResourceType, desired: T): T {
  return { ...desired, apiVersion: desired.apiVersion ?? apiVersionOf(resource), kind: desired.kind ?? resource.kind };
}

/** `desired` with `loadlm.dev/applied-hash` set to the hash of everything else in it. */
export function withAppliedHash<T extends KubeObject>(desired: T): T {
  const { [appliedHashAnnotation]: _previous, ...annotations } = desired.metadata?.annotations ?? {};
  const unstamped = { ...desired, metadata: { ...desired.metadata, annotations } };
  return {
    ...desired,
    metadata: { ...desired.metadata, annotations: { ...annotations, [appliedHashAnnotation]: hashOf(unstamped) } },
  };
}

function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${stableJson(item)}`).join(',')}}`;
}

function stripUndefined(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

function requireName(
  resource: ResourceType,
  object: Readonly<KubeObject>,
): { namespace: string | undefined; name: string } {
  const name = object.metadata?.name;
  if (!name) throw new Error(`apply ${resource.kind}: metadata.name is required`);
  const namespace = object.metadata?.namespace;
  if (resource.namespaced && !namespace)
    throw new Error(`apply ${resource.kind} ${name}: metadata.namespace is required`);
  return { namespace, name };
}

function withContext(error: unknown, fieldManager: string, what: string): unknown {
  if (!(error instanceof ApiError)) return error;
  return new ApiError(
    `${what} (field manager ${fieldManager}): ${error.message}`,
    error.status,
    error.reason,
    error.statusBody,
    {
      cause: error,
    },
  );
}
