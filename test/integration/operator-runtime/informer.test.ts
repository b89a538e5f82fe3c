/**
 * Informers against the real apiserver: label-selected caching, and surviving a dropped connection, a real
 * 410 Gone, and a silent stall without losing the final state.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Informer } from '../../../operator/runtime/informer.ts';
import type { KubeClient } from '../../../operator/runtime/kube-client.ts';
import { type KubeObject, resources } from '../../../operator/runtime/resources.ts';
import { type ClusterHandle, fromEnv, waitFor } from '../../cluster/index.ts';
import { installWidgetCrd, newClient, testLogger, type Widget, type WidgetCrd } from './helpers.ts';
import { TcpProxy } from './tcp-proxy.ts';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const selector = 'runtime-test/cached=yes';
const labels = { 'runtime-test/cached': 'yes' };

let cluster: ClusterHandle;
let namespace: string;
let writer: KubeClient;
let crd: WidgetCrd;
const cleanups: (() => Promise<void>)[] = [];

before(async () => {
  cluster = fromEnv();
  namespace = await cluster.createNamespace('rt-informer');
  ({ client: writer } = await newClient(cluster.kubeConfig()));
  crd = await installWidgetCrd(cluster);
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await crd?.remove();
  await writer?.close();
  await cluster?.stop();
});

/** Records handler calls as `add name v`, `update name v`, `delete name`. */
function recordEvents<T extends KubeObject & { data?: Record<string, string>; spec?: Record<string, unknown> }>(
  informer: Informer<T>,
): string[] {
  const events: string[] = [];
  const value = (object: Readonly<T>) => object.data?.v ?? String(object.spec?.v ?? '');
  informer.addHandler({
    onAdd: (object) => events.push(`add ${object.metadata?.name} ${value(object)}`),
    onUpdate: (_old, object) => events.push(`update ${object.metadata?.name} ${value(object)}`),
    onDelete: (object) => events.push(`delete ${object.metadata?.name}`),
  });
  return events;
}

function configMap(name: string, v: string, withLabels = true): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, ...(withLabels ? { labels } : {}) },
    data: { v },
  };
}

async function put(object: ConfigMap): Promise<void> {
  await writer.patch(resources.configMaps, namespace, object.metadata?.name ?? '', object, 'apply', {
    fieldManager: 'runtime-test',
    force: true,
  });
}

function cachedValues(informer: Informer<ConfigMap>): string {
  return informer
    .list(namespace)
    .map((object) => `${object.metadata?.name}=${object.data?.v}`)
    .sort()
    .join(',');
}

describe('informer against the apiserver', () => {
  it('caches only labelled objects and sees add, update and delete', async () => {
    const { client } = await newClient(cluster.kubeConfig());
    const informer = new Informer<ConfigMap>({
      resource: resources.configMaps,
      client,
      namespaces: [namespace],
      labelSelector: selector,
      logger: testLogger(),
    });
    cleanups.push(async () => {
      await informer.stop();
      await client.close();
    });
    await put(configMap('before-start', '1'));
    const events = recordEvents(informer);
    informer.start();
    await informer.waitForSync();
    assert.deepEqual(events, ['add before-start 1']);

    await put(configMap('unlabelled', '1', false));
    await put(configMap('labelled', '1'));
    await put(configMap('labelled', '2'));
    await writer.delete(resources.configMaps, namespace, 'before-start');
    await waitFor('informer to see the changes', () => cachedValues(informer) === 'labelled=2', {
      timeoutMs: 10_000,
      describe: () => `${cachedValues(informer)}; events ${events.join(', ')}`,
    });
    assert.deepEqual(events, ['add before-start 1', 'add labelled 1', 'update labelled 2', 'delete before-start']);
    assert.equal(informer.get(namespace, 'unlabelled'), undefined, 'unlabelled objects are not cached');
    assert.equal(informer.get(namespace, 'labelled')?.kind, 'ConfigMap');
    assert.ok(Object.isFrozen(informer.get(namespace, 'labelled')));
  });

  it('survives a dropped connection: resumes the watch and delivers what changed meanwhile', async () => {
    const proxy = await TcpProxy.start(cluster.server);
    const { client } = await newClient(proxy.kubeConfigFor(cluster.kubeConfig()));
    const informer = new Informer<ConfigMap>({
      resource: resources.configMaps,
      client,
      namespaces: [namespace],
      labelSelector: 'runtime-test/drop=yes',
      backoff: { initialMs: 200, maxMs: 1000 },
      logger: testLogger(),
    });
    cleanups.push(async () => {
      await informer.stop();
      await client.close();
      await proxy.close();
    });
    const dropLabels = { 'runtime-test/drop': 'yes' };
    const object = (name: string, v: string) => ({
      ...configMap(name, v),
      metadata: { name, namespace, labels: dropLabels },
    });
    await put(object('drop-a', '1'));
    await put(object('drop-b', '1'));
    const events = recordEvents(informer);
    informer.start();
    await informer.waitForSync();

    proxy.refuse();
    await waitFor('the watch to notice the broken connection', () => informer.stats().watchErrors > 0, {
      timeoutMs: 10_000,
    });
    await put(object('drop-a', '2'));
    await put(object('drop-c', '1'));
    await writer.delete(resources.configMaps, namespace, 'drop-b');
    proxy.forward();

    const expected = 'drop-a=2,drop-c=1';
    const current = () =>
      informer
        .list(namespace)
        .map((o) => `${o.metadata?.name}=${o.data?.v}`)
        .sort()
        .join(',');
    await waitFor('the informer to catch up after reconnecting', () => current() === expected, {
      timeoutMs: 15_000,
      describe: () => `${current()}; stats ${JSON.stringify(informer.stats())}`,
    });
    assert.deepEqual(events.slice(2).sort(), ['add drop-c 1', 'delete drop-b', 'update drop-a 2']);
    assert.equal(informer.stats().lists, 1, 'resumed from the last resourceVersion, no relist');
  });

  it('relists on a real 410 Gone (the kind was re-served after a CRD change) without losing the final state', async () => {
    const proxy = await TcpProxy.start(cluster.server);
    const { client, metrics } = await newClient(proxy.kubeConfigFor(cluster.kubeConfig()));
    const informer = new Informer<Widget>({
      resource: crd.resource,
      client,
      namespaces: [namespace],
      backoff: { initialMs: 200, maxMs: 1000 },
      logger: testLogger(),
      metrics,
    });
    cleanups.push(async () => {
      await informer.stop();
      await client.close();
      await proxy.close();
    });
    const widget = (name: string, v: number): Widget => ({
      apiVersion: crd.apiVersion,
      kind: 'Widget',
      metadata: { name, namespace },
      spec: { v },
    });
    const apply = (object: Widget) =>
      writer.patch(crd.resource, namespace, object.metadata?.name ?? '', object, 'apply', {
        fieldManager: 'runtime-test',
      });
    await apply(widget('w-keep', 1));
    await apply(widget('w-gone', 1));
    const events = recordEvents(informer);
    informer.start();
    await informer.waitForSync();

    // Changing the CRD makes the apiserver rebuild the kind's storage with a new watch cache that starts after
    // our resourceVersion; a reconnect from it is answered with 410 "too old resource version".
    proxy.refuse();
    await crd.touch();
    await waitFor('the CRD change to be served', async () => {
      const object = await writer.getIfExists<Widget>(crd.resource, namespace, 'w-keep').catch(() => undefined);
      return object !== undefined;
    });
    await apply(widget('w-keep', 2));
    await apply(widget('w-new', 1));
    await writer.delete(crd.resource, namespace, 'w-gone');
    proxy.forward();

    const current = () =>
      informer
        .list(namespace)
        .map((o) => `${o.metadata?.name}=${String(o.spec?.v)}`)
        .sort()
        .join(',');
    await waitFor('the informer to relist after 410', () => current() === 'w-keep=2,w-new=1', {
      timeoutMs: 20_000,
      describe: () => `${current()}; stats ${JSON.stringify(informer.stats())}`,
    });
    assert.ok(
      informer.stats().relistsAfterGone >= 1,
      `expected a relist after 410: ${JSON.stringify(informer.stats())}`,
    );
    assert.deepEqual(events.slice(2).sort(), ['add w-new 1', 'delete w-gone', 'update w-keep 2']);
    const lists = await metrics.informerLists.get();
    assert.ok(lists.values.some((value) => value.labels.reason === 'gone' && value.value >= 1));
  });

  it('the stall watchdog restarts a watch that went silent and relists', async () => {
    const proxy = await TcpProxy.start(cluster.server);
    const { client } = await newClient(proxy.kubeConfigFor(cluster.kubeConfig()), { requestTimeoutMs: 2_000 });
    const informer = new Informer<ConfigMap>({
      resource: resources.configMaps,
      client,
      namespaces: [namespace],
      labelSelector: 'runtime-test/stall=yes',
      stallTimeoutMs: 2_000,
      backoff: { initialMs: 200, maxMs: 1000 },
      logger: testLogger(),
    });
    cleanups.push(async () => {
      await informer.stop();
      await client.close();
      await proxy.close();
    });
    const object = (name: string, v: string) => ({
      ...configMap(name, v),
      metadata: { name, namespace, labels: { 'runtime-test/stall': 'yes' } },
    });
    informer.start();
    await informer.waitForSync();

    // The open connection dies silently: nothing is closed, nothing arrives — only the watchdog can tell. The
    // relist that follows times out on the dead connection, undici drops it, and a new one is made.
    proxy.freezeExisting();
    await put(object('stall-a', '1'));
    await waitFor(
      'the relist to deliver the object created after the connection died',
      () => informer.get(namespace, 'stall-a'),
      {
        timeoutMs: 20_000,
        describe: () => JSON.stringify(informer.stats()),
      },
    );
    assert.ok(informer.stats().stalls >= 1, JSON.stringify(informer.stats()));
    assert.ok(proxy.connections >= 2, 'a new connection replaced the dead one');
  });
});
