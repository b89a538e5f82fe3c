import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cachedConfigMap,
  cachedJob,
  cachedLoadTest,
  cachedOwnedObject,
  cachedPod,
} from '../../../operator/loadtest/cache-transforms.ts';
import { renderRunnerConfig, renderRunnerJob, renderRunnerRbac } from '../../../operator/loadtest/desired/index.ts';
import type { ConfigMap, Job, ObservedJob, Pod } from '../../../operator/loadtest/desired/kube-types.ts';
import { detectRunnerFailure, podStateText, runnerIndexOf } from '../../../operator/loadtest/status/index.ts';
import { needsApply, withAppliedHash } from '../../../operator/runtime/apply.ts';
import type { KubeObject } from '../../../operator/runtime/resources.ts';
import { decodeResultConfigMap, parseStartSignal } from '../../../runner/handoff/protocol.ts';
import { at, baseSpec, createdMs, loadTest, resultCm, runnerPod } from './fixtures.ts';

const lt = loadTest({ parallelism: 2 });
const managedFields = [
  { manager: 'loadlm-operator', operation: 'Apply' as const, fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } },
  { manager: 'kube-controller-manager', operation: 'Update' as const, subresource: 'status', fieldsV1: {} },
];

/** A pod as the apiserver returns it: the fixture plus what the controller never reads. */
function fullPod(pod: Pod): Pod {
  type Loose = Record<string, unknown>;
  const full = structuredClone(pod) as unknown as { metadata: Loose; spec: Loose; status: Loose };
  full.metadata = { ...full.metadata, managedFields, finalizers: ['batch.kubernetes.io/job-tracking'] };
  full.spec = {
    ...full.spec,
    volumes: [{ name: 'tmp', emptyDir: {} }],
    tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }],
    dnsPolicy: 'ClusterFirst',
    containers: (full.spec.containers as Loose[]).map((container) => ({
      ...container,
      env: [{ name: 'LOADLM_CONFIG', valueFrom: { configMapKeyRef: { name: 'x', key: 'config.yaml' } } }],
      args: ['run', '--config-env=LOADLM_CONFIG'],
    })),
  };
  full.status = {
    ...full.status,
    hostIP: '10.0.0.1',
    qosClass: 'Burstable',
    containerStatuses: (full.status.containerStatuses as Loose[] | undefined)?.map((status) => ({
      ...status,
      imageID: 'sha256:abc',
      containerID: 'containerd://abc',
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
    })),
  };
  return full as unknown as Pod;
}

describe('cachedPod keeps every field the status functions read', () => {
  const pods: Pod[] = [
    runnerPod(0, { kind: 'pending' }),
    runnerPod(0, { kind: 'unscheduled' }),
    runnerPod(0, { kind: 'waiting', reason: 'ImagePullBackOff', message: 'back-off pulling' }),
    runnerPod(0, { kind: 'waiting', reason: 'CreateContainerConfigError', message: 'secret "key" not found' }),
    runnerPod(0, { kind: 'running', ready: true }),
    runnerPod(0, { kind: 'terminated', exitCode: 137, reason: 'OOMKilled' }, { memoryLimit: '512Mi' }),
    runnerPod(0, { kind: 'terminated', exitCode: 3, reason: 'Error', message: 'run failed: boom' }),
    runnerPod(0, { kind: 'terminated', exitCode: 143, reason: 'Error', podReason: 'Evicted', podMessage: 'low' }),
  ];
  for (const pod of pods) {
    it(`same answers for a pod that is ${podStateText(pod)}`, () => {
      const full = fullPod(pod);
      const cached = cachedPod(full);
      const other = runnerPod(1, { kind: 'running', ready: true });
      const observe = (p: Pod, now: number, started: boolean) =>
        detectRunnerFailure({ pods: [p, other], started, startupBeganAt: at(0) }, now, lt);
      assert.equal(podStateText(cached), podStateText(full));
      assert.equal(runnerIndexOf(cached), runnerIndexOf(full));
      for (const seconds of [5, 500, 5000]) {
        for (const started of [false, true]) {
          assert.deepEqual(
            observe(cached, createdMs + seconds * 1000, started),
            observe(full, createdMs + seconds * 1000, started),
          );
        }
      }
      assert.equal(cached.metadata.managedFields, undefined);
      assert.equal((cached.spec as Record<string, unknown>).volumes, undefined);
      assert.equal(JSON.stringify(cached).length < JSON.stringify(full).length, true);
    });
  }
});

describe('cachedJob, cachedConfigMap, cachedOwnedObject: what apply no-op detection needs stays', () => {
  const stored = <T extends KubeObject>(desired: T): T => {
    const stamped = withAppliedHash(desired);
    return {
      ...stamped,
      metadata: { ...stamped.metadata, uid: 'u1', resourceVersion: '7', creationTimestamp: at(0), managedFields },
    };
  };

  it('a Job loses its pod template, keeps spec counts and status; an unchanged Job needs no apply', () => {
    const desired = renderRunnerJob(lt, { image: 'ghcr.io/loadlm/loadlm:0.1.0' });
    const server = {
      ...stored(desired),
      status: { active: 2, startTime: at(0), conditions: [{ type: 'Complete', status: 'True' as const }] },
    };
    const cached = cachedJob(server as unknown as ObservedJob);
    assert.equal('template' in (cached.spec ?? {}), false);
    assert.equal(cached.spec?.completions, 2);
    assert.equal(cached.spec?.activeDeadlineSeconds, desired.spec.activeDeadlineSeconds);
    assert.deepEqual(cached.status, server.status);
    const transform = cachedJob as unknown as (object: KubeObject) => KubeObject;
    assert.equal(needsApply(withAppliedHash(desired), cached, 'loadlm-operator', transform), false);
    const changed = renderRunnerJob(lt, { image: 'ghcr.io/loadlm/loadlm:0.2.0' }) as Job;
    assert.equal(needsApply(withAppliedHash(changed), cached, 'loadlm-operator', transform), true);
  });

  it('the runner config is cached as digests; a changed config still needs an apply', () => {
    const desired = renderRunnerConfig(lt, { servicePorts: {} }).configMap;
    const cached = cachedConfigMap(stored(desired));
    assert.match(Object.values(cached.data ?? {})[0] ?? '', /^sha256:/);
    const transform = cachedConfigMap as unknown as (object: KubeObject) => KubeObject;
    assert.equal(needsApply(withAppliedHash(desired), cached, 'loadlm-operator', transform), false);
    const faster = loadTest({ parallelism: 2, load: { ...baseSpec.load, rate: '5' } });
    const other = renderRunnerConfig(faster, { servicePorts: {} }).configMap;
    assert.equal(needsApply(withAppliedHash(other), cached, 'loadlm-operator', transform), true);
  });

  it('result ConfigMaps and the start signal keep their data (the reconcile decodes them)', () => {
    const result = resultCm(0, undefined) as unknown as ConfigMap;
    const cachedResult = cachedConfigMap({ ...result, metadata: { ...result.metadata, managedFields } });
    assert.deepEqual(decodeResultConfigMap(cachedResult as never), decodeResultConfigMap(result as never));
    const start: ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'nightly-start',
        namespace: 'bench',
        labels: { 'loadlm.dev/loadtest': 'nightly', 'app.kubernetes.io/component': 'runner' },
        ownerReferences: [],
      },
      data: { phase: 'Start', startAt: at(10) },
    };
    assert.deepEqual(parseStartSignal(cachedConfigMap(start) as never), parseStartSignal(start as never));
  });

  it('RBAC objects keep their rules, only managedFields shrink', () => {
    const { role } = renderRunnerRbac(lt);
    const cached = cachedOwnedObject(stored(role));
    assert.deepEqual(cached.rules, role.rules);
    assert.deepEqual(cached.metadata?.managedFields, [
      { manager: 'loadlm-operator', operation: 'Apply' },
      { manager: 'kube-controller-manager', operation: 'Update', subresource: 'status' },
    ]);
  });

  it('a LoadTest loses managedFields and kubectl last-applied copy, keeps spec, status and other annotations', () => {
    const server = {
      ...lt,
      metadata: {
        ...lt.metadata,
        managedFields,
        annotations: { team: 'a', 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(lt.spec) },
      },
      status: { phase: 'Pending' },
    };
    const cached = cachedLoadTest(server as typeof lt);
    assert.deepEqual(cached.metadata.annotations, { team: 'a' });
    assert.equal(cached.metadata.managedFields, undefined);
    assert.deepEqual(cached.spec, lt.spec);
    assert.deepEqual(cached.status, { phase: 'Pending' });
  });
});
