import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  appliedHashAnnotation,
  containsDesired,
  deepEqual,
  hashOf,
  isSubset,
  needsApply,
  withAppliedHash,
  withTypeMeta,
} from '../../../operator/runtime/apply.ts';
import { deepFreeze } from '../../../operator/runtime/object-store.ts';
import { type KubeObject, resources } from '../../../operator/runtime/resources.ts';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const desiredConfigMap = (): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: 'runner-config',
    namespace: 'team-a',
    labels: { 'app.kubernetes.io/managed-by': 'loadlm-operator' },
    ownerReferences: [
      {
        apiVersion: 'loadlm.dev/v1alpha1',
        kind: 'LoadTest',
        name: 'lt',
        uid: 'u-1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  },
  data: { 'config.json': '{"rate":10}' },
});

/** What the apiserver returns after applying `desired`: server fields and our managedFields entry. */
function asStored(desired: ConfigMap, manager = 'loadlm-operator'): Readonly<ConfigMap> {
  return deepFreeze({
    ...structuredClone(desired),
    metadata: {
      ...structuredClone(desired.metadata),
      uid: 'cm-uid',
      resourceVersion: '42',
      creationTimestamp: '2025-01-01T00:00:00Z',
      managedFields: [{ manager, operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: {} }],
    },
  });
}

describe('apply no-op detection', () => {
  it('a cached object that matches the desired state needs no apply', () => {
    const desired = withAppliedHash(desiredConfigMap());
    assert.equal(needsApply(desired, asStored(desired)), false);
  });

  it('a changed desired field needs an apply (hash differs)', () => {
    const stored = asStored(withAppliedHash(desiredConfigMap()));
    const changed = desiredConfigMap();
    changed.data = { 'config.json': '{"rate":20}' };
    assert.equal(needsApply(withAppliedHash(changed), stored), true);
  });

  it('a field removed from the desired state needs an apply (the subset check alone would miss it)', () => {
    const withExtra = desiredConfigMap();
    withExtra.metadata = { ...withExtra.metadata, labels: { ...withExtra.metadata?.labels, extra: 'x' } };
    const stored = asStored(withAppliedHash(withExtra));
    const desired = withAppliedHash(desiredConfigMap());
    assert.equal(containsDesired(desired, stored), false, 'hash annotation differs');
    assert.equal(needsApply(desired, stored), true);
  });

  it('drift made by someone else needs an apply even when the hash matches', () => {
    const desired = withAppliedHash(desiredConfigMap());
    const stored = asStored(desired);
    const drifted = deepFreeze({ ...structuredClone(stored), data: { 'config.json': 'edited by hand' } });
    assert.equal(needsApply(desired, drifted), true);
  });

  it('an object our field manager has not applied yet needs an apply', () => {
    const desired = withAppliedHash(desiredConfigMap());
    assert.equal(needsApply(desired, asStored(desired, 'kubectl')), true);
  });

  it('server-added fields and defaults do not count as differences', () => {
    const desired = withAppliedHash(desiredConfigMap());
    const stored = deepFreeze({
      ...structuredClone(asStored(desired)),
      metadata: {
        ...structuredClone(asStored(desired).metadata),
        labels: { ...desired.metadata?.labels, 'added-by-webhook': 'yes' },
        annotations: { ...desired.metadata?.annotations, other: 'x' },
      },
      binaryData: {},
    });
    assert.equal(needsApply(desired, stored), false);
  });

  it('withAppliedHash is stable and ignores a previous hash annotation', () => {
    const once = withAppliedHash(desiredConfigMap());
    const twice = withAppliedHash(once);
    assert.equal(
      once.metadata?.annotations?.[appliedHashAnnotation],
      twice.metadata?.annotations?.[appliedHashAnnotation],
    );
    assert.match(once.metadata?.annotations?.[appliedHashAnnotation] ?? '', /^[0-9a-f]{16}$/);
  });

  it('hashOf ignores key order and undefined values', () => {
    assert.equal(hashOf({ a: 1, b: { c: 2, d: undefined } }), hashOf({ b: { c: 2 }, a: 1 }));
    assert.notEqual(hashOf({ a: 1 }), hashOf({ a: 2 }));
    assert.notEqual(hashOf([1, 2]), hashOf([2, 1]));
  });

  it('isSubset: primitives, objects, arrays of the same length with defaulted items', () => {
    assert.ok(isSubset({ a: 1 }, { a: 1, b: 2 }));
    assert.ok(!isSubset({ a: 1 }, { a: 2 }));
    assert.ok(isSubset(undefined, { a: 1 }));
    assert.ok(isSubset([{ name: 'c' }], [{ name: 'c', imagePullPolicy: 'IfNotPresent' }]));
    assert.ok(!isSubset([{ name: 'c' }], [{ name: 'c' }, { name: 'd' }]));
    assert.ok(!isSubset({ a: { b: 1 } }, { a: 'x' }));
    assert.ok(!isSubset('1000m', '1'), 'non-canonical quantities differ: desired objects must be canonical');
  });

  it('deepEqual ignores key order and undefined keys', () => {
    assert.ok(deepEqual({ a: [1, { b: 2 }], c: undefined }, { a: [1, { b: 2 }] }));
    assert.ok(!deepEqual({ a: [1, 2] }, { a: [2, 1] }));
    assert.ok(!deepEqual({ a: 1 }, { a: 1, b: 2 }));
    assert.ok(!deepEqual(null, {}));
  });

  it('withTypeMeta fills apiVersion and kind from the resource', () => {
    const object = withTypeMeta<KubeObject>(resources.jobs, { metadata: { name: 'j' } });
    assert.equal(object.apiVersion, 'batch/v1');
    assert.equal(object.kind, 'Job');
  });
});
