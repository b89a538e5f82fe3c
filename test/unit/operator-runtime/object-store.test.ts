import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deepFreeze, ObjectStore } from '../../../operator/runtime/object-store.ts';
import type { KubeObject } from '../../../operator/runtime/resources.ts';

function object(name: string, rv: string, owners: string[] = [], namespace = 'ns'): KubeObject {
  return {
    metadata: {
      name,
      namespace,
      uid: `uid-${name}`,
      resourceVersion: rv,
      ownerReferences: owners.map((uid) => ({ apiVersion: 'loadlm.dev/v1alpha1', kind: 'LoadTest', name: uid, uid })),
    },
  };
}

describe('ObjectStore', () => {
  it('reports added, updated and unchanged (same resourceVersion) upserts', () => {
    const store = new ObjectStore();
    assert.equal(store.upsert(object('a', '1'))?.type, 'added');
    assert.equal(store.upsert(object('a', '1')), undefined);
    const change = store.upsert(object('a', '2'));
    assert.equal(change?.type, 'updated');
    assert.equal(change?.type === 'updated' && change.old.metadata?.resourceVersion, '1');
    assert.equal(store.size, 1);
  });

  it('indexes by owner uid and follows owner changes and deletes', () => {
    const store = new ObjectStore();
    store.upsert(object('job-1', '1', ['lt-1']));
    store.upsert(object('cm-1', '1', ['lt-1', 'lt-2']));
    store.upsert(object('job-2', '1', ['lt-2']));
    assert.deepEqual(
      store
        .byOwner('lt-1')
        .map((o) => o.metadata?.name)
        .sort(),
      ['cm-1', 'job-1'],
    );
    store.upsert(object('cm-1', '2', ['lt-2']));
    assert.deepEqual(
      store.byOwner('lt-1').map((o) => o.metadata?.name),
      ['job-1'],
    );
    store.delete('ns', 'job-1');
    assert.deepEqual(store.byOwner('lt-1'), []);
    assert.deepEqual(
      store
        .byOwner('lt-2')
        .map((o) => o.metadata?.name)
        .sort(),
      ['cm-1', 'job-2'],
    );
  });

  it('lists all or one namespace, and gets by key', () => {
    const store = new ObjectStore();
    store.upsert(object('a', '1', [], 'x'));
    store.upsert(object('b', '1', [], 'y'));
    assert.equal(store.list().length, 2);
    assert.deepEqual(
      store.list('x').map((o) => o.metadata?.name),
      ['a'],
    );
    assert.equal(store.getByKey('y/b')?.metadata?.name, 'b');
    assert.equal(store.get('x', 'b'), undefined);
  });

  it('replace within a namespace leaves other namespaces alone and reports only differences', () => {
    const store = new ObjectStore();
    store.upsert(object('a', '1', [], 'x'));
    store.upsert(object('b', '1', [], 'x'));
    store.upsert(object('c', '1', [], 'y'));
    const changes = store.replace([object('a', '1', [], 'x'), object('d', '1', [], 'x')], 'x');
    assert.deepEqual(changes.map((change) => `${change.type} ${change.object.metadata?.name}`).sort(), [
      'added d',
      'deleted b',
    ]);
    assert.deepEqual(store.keys().sort(), ['x/a', 'x/d', 'y/c']);
  });

  it('deepFreeze freezes nested objects and arrays', () => {
    const frozen = deepFreeze({ a: { b: [1, { c: 2 }] } });
    assert.ok(Object.isFrozen(frozen.a.b));
    assert.ok(Object.isFrozen(frozen.a.b[1]));
    assert.throws(() => {
      (frozen.a.b as unknown[]).push(3);
    }, TypeError);
  });
});
