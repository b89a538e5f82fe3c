/**
 * Building blocks for informer transforms (InformerOptions.transform): cache only what a controller reads.
 * Each returns a new object and leaves its input alone, so the same transform can also be applied to a desired
 * object before comparing it with a cached one (Applier.applyIfChanged's `cachedAs`).
 */
import { createHash } from 'node:crypto';
import type { KubeObject, ObjectMeta } from './resources.ts';

/**
 * managedFields reduced to who manages the object and how (manager, operation, subresource): what
 * `needsApply` reads. The field sets (fieldsV1) are most of an object's size and nothing reads them here.
 */
export function slimManagedFields<T extends KubeObject>(object: T): T {
  const managed = object.metadata?.managedFields;
  if (!managed) return object;
  const slim = managed.map(({ manager, operation, subresource }) => ({
    ...(manager !== undefined ? { manager } : {}),
    ...(operation !== undefined ? { operation } : {}),
    ...(subresource ? { subresource } : {}),
  }));
  return { ...object, metadata: { ...object.metadata, managedFields: slim } };
}

/** The object without metadata.managedFields (for kinds the controller never applies). */
export function withoutManagedFields<T extends KubeObject>(object: T): T {
  if (!object.metadata?.managedFields) return object;
  const { managedFields: _managedFields, ...metadata } = object.metadata;
  return { ...object, metadata };
}

/** The object without the given annotations, e.g. `kubectl.kubernetes.io/last-applied-configuration`. */
export function withoutAnnotations<T extends KubeObject>(object: T, keys: readonly string[]): T {
  const annotations = object.metadata?.annotations;
  if (!annotations || !keys.some((key) => key in annotations)) return object;
  const kept = Object.fromEntries(Object.entries(annotations).filter(([key]) => !keys.includes(key)));
  const metadata: ObjectMeta = { ...object.metadata };
  if (Object.keys(kept).length > 0) metadata.annotations = kept;
  else delete metadata.annotations;
  return { ...object, metadata };
}

/**
 * Each value replaced by `sha256:<hex>` of it: for data that is only ever compared (a rendered config), the
 * comparison still sees any change while the cache holds 71 characters per key.
 */
export function digestValues(values: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, `sha256:${createHash('sha256').update(value).digest('hex')}`]),
  );
}
