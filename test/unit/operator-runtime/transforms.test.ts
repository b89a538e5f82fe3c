import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { needsApply, withAppliedHash } from '../../../operator/runtime/apply.ts';
import { FakeClock } from '../../../operator/runtime/clock.ts';
import { Informer } from '../../../operator/runtime/informer.ts';
import { type KubeObject, resources } from '../../../operator/runtime/resources.ts';
import {
  digestValues,
  slimManagedFields,
  withoutAnnotations,
  withoutManagedFields,
} from '../../../operator/runtime/transforms.ts';
import { FakeApi, type TestObject } from './fake-api.ts';

const managedFields = [
  {
    manager: 'loadlm-operator',
    operation: 'Apply' as const,
    apiVersion: 'v1',
    time: '2025-06-01T10:00:00Z',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:data': { 'f:config.yaml': {} } },
  },
  {
    manager: 'kube-controller-manager',
    operation: 'Update' as const,
    subresource: 'status',
    fieldsV1: { 'f:status': {} },
  },
];

describe('transform building blocks', () => {
  it('slimManagedFields keeps who manages the object and how, not the field sets', () => {
    const object = { metadata: { name: 'a', managedFields }, data: { x: '1' } };
    const slim = slimManagedFields(object);
    assert.deepEqual(slim.metadata.managedFields, [
      { manager: 'loadlm-operator', operation: 'Apply' },
      { manager: 'kube-controller-manager', operation: 'Update', subresource: 'status' },
    ]);
    assert.equal(object.metadata.managedFields[0]?.fieldsV1 !== undefined, true, 'the input is left alone');
    assert.deepEqual(slim.data, { x: '1' });
  });

  it('withoutManagedFields and withoutAnnotations drop only what they name', () => {
    const object = {
      metadata: { name: 'a', managedFields, annotations: { keep: 'me', 'kubectl.kubernetes.io/last': '{...}' } },
    };
    assert.deepEqual(withoutManagedFields(object).metadata, {
      name: 'a',
      annotations: { keep: 'me', 'kubectl.kubernetes.io/last': '{...}' },
    });
    assert.deepEqual(withoutAnnotations(object, ['kubectl.kubernetes.io/last']).metadata.annotations, { keep: 'me' });
    assert.equal(
      withoutAnnotations({ metadata: { name: 'a', annotations: { x: '1' } } }, ['x']).metadata.annotations,
      undefined,
    );
    assert.equal(withoutAnnotations(object, ['absent']), object, 'nothing to drop: the same object');
  });

  it('digestValues gives equal digests for equal values and different ones otherwise', () => {
    const a = digestValues({ 'config.yaml': 'rate: 1\n', other: 'x' });
    assert.match(a['config.yaml'] ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(digestValues({ 'config.yaml': 'rate: 1\n', other: 'x' }), a);
    assert.notEqual(digestValues({ 'config.yaml': 'rate: 2\n' })['config.yaml'], a['config.yaml']);
  });
});

describe('needsApply with the transform the cached object went through (cachedAs)', () => {
  const digestData = (object: KubeObject) => {
    const slim = slimManagedFields(object) as KubeObject & { data?: Record<string, string> };
    return slim.data ? { ...slim, data: digestValues(slim.data) } : slim;
  };
  const desired = withAppliedHash({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cfg', namespace: 'ns', labels: { app: 'x' } },
    data: { 'config.yaml': 'rate: 1\n' },
  });
  const stored = { ...desired, metadata: { ...desired.metadata, uid: 'u1', resourceVersion: '5', managedFields } };

  it('an unchanged object cached as digests needs no apply; without cachedAs it would always look changed', () => {
    const cached = digestData(stored);
    assert.equal(needsApply(desired, cached, 'loadlm-operator', digestData), false);
    assert.equal(needsApply(desired, cached, 'loadlm-operator'), true);
  });

  it('someone else changing the data, or our manager losing the object, still needs an apply', () => {
    const edited = digestData({ ...stored, data: { 'config.yaml': 'rate: 100\n' } } as KubeObject);
    assert.equal(needsApply(desired, edited, 'loadlm-operator', digestData), true);
    const foreign = digestData({
      ...stored,
      metadata: { ...stored.metadata, managedFields: [{ manager: 'kubectl', operation: 'Update' }] },
    } as KubeObject);
    assert.equal(needsApply(desired, foreign, 'loadlm-operator', digestData), true);
  });
});

describe('Informer transform', () => {
  let informer: Informer<TestObject> | undefined;
  afterEach(async () => {
    await informer?.stop();
    informer = undefined;
  });

  it('applies to listed and watched objects before they are cached and handed to handlers', async () => {
    const api = new FakeApi();
    const clock = new FakeClock();
    const seen: string[] = [];
    informer = new Informer<TestObject>({
      resource: resources.configMaps,
      listerWatcher: api,
      clock,
      random: () => 0,
      resyncPeriodMs: 0,
      transform: (object) => ({ ...object, data: { size: String(object.data?.big?.length ?? 0) } }),
    });
    informer.addHandler({
      onAdd: (o) => seen.push(`add ${o.data?.size}`),
      onUpdate: (_, o) => seen.push(`upd ${o.data?.size}`),
    });
    api.put('a', { big: 'x'.repeat(1000) });
    informer.start();
    await informer.waitForSync();
    api.put('a', { big: 'x'.repeat(10) });
    api.put('b', { big: '' });
    await clock.advance(0);
    assert.deepEqual(informer.get('ns', 'a')?.data, { size: '10' });
    assert.deepEqual(informer.get('ns', 'b')?.data, { size: '0' });
    assert.deepEqual(seen, ['add 1000', 'upd 10', 'add 0']);
    assert.equal(typeof informer.transform, 'function', 'exposed for applyIfChanged cachedAs');
  });

  it('a transform that throws leaves the object cached as it came', async () => {
    const api = new FakeApi();
    const clock = new FakeClock();
    informer = new Informer<TestObject>({
      resource: resources.configMaps,
      listerWatcher: api,
      clock,
      random: () => 0,
      resyncPeriodMs: 0,
      transform: (object) => {
        if (object.data?.bad) throw new Error('cannot transform');
        return { ...object, data: {} };
      },
    });
    api.put('ok', { x: '1' });
    api.put('bad', { bad: 'yes' });
    informer.start();
    await informer.waitForSync();
    assert.deepEqual(informer.get('ns', 'ok')?.data, {});
    assert.deepEqual(informer.get('ns', 'bad')?.data, { bad: 'yes' });
  });

  it('stopping right after sync ends the watch at once', async () => {
    const api = new FakeApi();
    informer = new Informer<TestObject>({ resource: resources.configMaps, listerWatcher: api, resyncPeriodMs: 0 });
    informer.start();
    await informer.waitForSync();
    await informer.stop();
    assert.equal(api.openWatches, 0);
  });
});
