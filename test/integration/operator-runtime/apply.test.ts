/**
 * Server-side apply, status writes and events against the apiserver: a steady state makes no requests,
 * changes and drift are applied, `/status` works for a CRD, API errors read clearly, and repeated events are
 * aggregated into one Event's series.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiError } from '../../../operator/runtime/api-error.ts';
import { Applier, appliedHashAnnotation } from '../../../operator/runtime/apply.ts';
import { EventRecorder } from '../../../operator/runtime/events.ts';
import { Informer } from '../../../operator/runtime/informer.ts';
import type { KubeClient } from '../../../operator/runtime/kube-client.ts';
import { type KubeList, type KubeObject, resources } from '../../../operator/runtime/resources.ts';
import { type ClusterHandle, fromEnv, waitFor } from '../../cluster/index.ts';
import { installWidgetCrd, newClient, testLogger, type Widget, type WidgetCrd } from './helpers.ts';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

let cluster: ClusterHandle;
let namespace: string;
let client: KubeClient;
let crd: WidgetCrd;
let informer: Informer<ConfigMap>;

before(async () => {
  cluster = fromEnv();
  namespace = await cluster.createNamespace('rt-apply');
  ({ client } = await newClient(cluster.kubeConfig()));
  crd = await installWidgetCrd(cluster);
  informer = new Informer<ConfigMap>({
    resource: resources.configMaps,
    client,
    namespaces: [namespace],
    labelSelector: 'app.kubernetes.io/managed-by=loadlm-operator',
    logger: testLogger(),
  });
  informer.start();
  await informer.waitForSync();
});

after(async () => {
  await informer?.stop();
  await crd?.remove();
  await client?.close();
  await cluster?.stop();
});

function desired(data: Record<string, string>, extraLabels: Record<string, string> = {}): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'runner-config',
      namespace,
      labels: { 'app.kubernetes.io/managed-by': 'loadlm-operator', ...extraLabels },
    },
    data,
  };
}

/** Waits until the cache holds the object at least as new as `stored`. */
async function cached(stored: Readonly<ConfigMap>): Promise<Readonly<ConfigMap>> {
  return waitFor('the cache to catch up', () => {
    const object = informer.get(namespace, 'runner-config');
    return object?.metadata?.resourceVersion === stored.metadata?.resourceVersion ? object : undefined;
  });
}

describe('server-side apply', () => {
  it('applies, then makes no request while the desired state is unchanged', async () => {
    const applier = new Applier(client);
    const first = await applier.applyIfChanged(
      resources.configMaps,
      desired({ rate: '10' }, { extra: 'x' }),
      undefined,
    );
    assert.equal(first.changed, true);
    assert.ok(
      first.object.metadata?.managedFields?.some(
        (entry) => entry.manager === 'loadlm-operator' && entry.operation === 'Apply',
      ),
    );
    assert.match(first.object.metadata?.annotations?.[appliedHashAnnotation] ?? '', /^[0-9a-f]{16}$/);

    const current = await cached(first.object);
    const before = client.requestCount;
    for (let i = 0; i < 3; i++) {
      const again = await applier.applyIfChanged(
        resources.configMaps,
        desired({ rate: '10' }, { extra: 'x' }),
        current,
      );
      assert.equal(again.changed, false);
    }
    assert.equal(client.requestCount, before, 'a steady-state reconcile makes no API requests');

    // A removed label is removed on the server (apply semantics), and the change is detected via the hash.
    const changed = await applier.applyIfChanged(resources.configMaps, desired({ rate: '20' }), current);
    assert.equal(changed.changed, true);
    assert.equal(changed.object.data?.rate, '20');
    assert.equal(changed.object.metadata?.labels?.extra, undefined);
  });

  it('takes back a field someone else changed (force) and reports the drift as a change', async () => {
    const applier = new Applier(client);
    const applied = await applier.apply(resources.configMaps, desired({ rate: '30' }));
    await client.patch(resources.configMaps, namespace, 'runner-config', { data: { rate: 'edited' } }, 'merge', {
      fieldManager: 'someone-else',
    });
    const drifted = await waitFor('the cache to see the edit', () => {
      const object = informer.get(namespace, 'runner-config');
      return object?.data?.rate === 'edited' ? object : undefined;
    });
    assert.notEqual(drifted.metadata?.resourceVersion, applied.metadata?.resourceVersion);
    const result = await applier.applyIfChanged(resources.configMaps, desired({ rate: '30' }), drifted);
    assert.equal(result.changed, true);
    assert.equal(result.object.data?.rate, '30');
  });

  it('writes status through the /status subresource and skips unchanged status', async () => {
    const applier = new Applier(client);
    const widget: Widget = {
      apiVersion: crd.apiVersion,
      kind: 'Widget',
      metadata: { name: 'w', namespace },
      spec: { a: 1 },
    };
    const created = await applier.apply<Widget>(crd.resource, { ...widget, status: { ignored: true } });
    assert.equal(created.status, undefined, 'status in a main-resource apply is ignored');

    const withStatus = await applier.applyStatus<Widget>(crd.resource, namespace, 'w', {
      phase: 'Running',
      observedGeneration: 1,
    });
    assert.deepEqual(withStatus.status, { phase: 'Running', observedGeneration: 1 });
    assert.deepEqual(withStatus.spec, { a: 1 });

    const before = client.requestCount;
    const same = await applier.applyStatusIfChanged<Widget>(crd.resource, withStatus, {
      phase: 'Running',
      observedGeneration: 1,
    });
    assert.equal(same.changed, false);
    assert.equal(client.requestCount, before);

    const next = await applier.applyStatusIfChanged<Widget>(crd.resource, withStatus, {
      phase: 'Succeeded',
      observedGeneration: 1,
    });
    assert.equal(next.changed, true);
    assert.equal(next.object.status?.phase, 'Succeeded');

    const merged = await applier.mergePatchStatus<Widget>(crd.resource, namespace, 'w', { progress: 50 });
    assert.deepEqual(merged.status, { phase: 'Succeeded', observedGeneration: 1, progress: 50 });
  });

  it('turns a rejected apply into an error that names the object, the field and the reason', async () => {
    const applier = new Applier(client);
    const bad = desired({ 'not a valid key!': 'x' });
    bad.metadata = { ...bad.metadata, name: 'bad-config' };
    const error = await applier.apply(resources.configMaps, bad).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    assert.ok(error instanceof ApiError, `expected an ApiError, got ${error}`);
    assert.equal(error.status, 422);
    assert.equal(error.reason, 'Invalid');
    assert.match(error.message, /apply ConfigMap rt-apply-[0-9a-f]+\/bad-config \(field manager loadlm-operator\)/);
    assert.match(error.message, /data\[not a valid key!\]/);
    assert.match(error.message, /422 Invalid/);
  });
});

describe('event recorder', () => {
  interface EventV1 extends KubeObject {
    reason?: string;
    note?: string;
    type?: string;
    reportingController?: string;
    reportingInstance?: string;
    action?: string;
    series?: { count: number; lastObservedTime: string };
    regarding?: { kind?: string; name?: string; uid?: string };
  }

  it('writes events.k8s.io Events and aggregates repeats into one series', async () => {
    const recorder = new EventRecorder({ client, reportingInstance: 'runtime-test_1', seriesFlushMs: 60_000 });
    const regarding = await client.create<ConfigMap>(resources.configMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'event-target', namespace },
    });
    for (let i = 0; i < 5; i++) recorder.event(regarding, 'Warning', 'RunnerOOMKilled', 'runner 2 was OOMKilled');
    recorder.event(regarding, 'Normal', 'JobCreated', 'created Job event-target-runners');
    await recorder.flush();

    const list = await client.list<EventV1>(resources.events, { namespace });
    const events = list.items.filter((event) => event.regarding?.uid === regarding.metadata?.uid);
    assert.equal(events.length, 2, JSON.stringify(events.map((event) => event.reason)));
    const oom = events.find((event) => event.reason === 'RunnerOOMKilled');
    assert.equal(oom?.type, 'Warning');
    assert.equal(oom?.note, 'runner 2 was OOMKilled');
    assert.equal(oom?.reportingController, 'loadlm.dev/operator');
    assert.equal(oom?.reportingInstance, 'runtime-test_1');
    assert.equal(oom?.regarding?.kind, 'ConfigMap');
    assert.equal(oom?.series?.count, 5, 'repeats are counted on the first Event, not written as new ones');
    const created = events.find((event) => event.reason === 'JobCreated');
    assert.equal(created?.type, 'Normal');
    assert.equal(created?.series, undefined);

    // The same events through the core/v1 API, as `kubectl describe` reads them.
    const core = await client.list<KubeObject & { reason?: string; count?: number }>(resources.coreEvents, {
      namespace,
      fieldSelector: `involvedObject.uid=${regarding.metadata?.uid}`,
    });
    assert.equal((core as KubeList<unknown>).items.length, 2);
  });
});
