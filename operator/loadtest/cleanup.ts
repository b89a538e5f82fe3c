/**
 * Cleanup of a finished LoadTest: spec.cleanupPolicy decides whether its runner objects go (`Always`;
 * `OnSuccess`: every run that completed, Succeeded or ThresholdsBreached, while Failed runs are kept for
 * debugging; `Never`), spec.ttlSecondsAfterFinished when. The LoadTest, its status and the report ConfigMap
 * always stay. Only objects still in the cache (found through its owner index) are deleted, so a cleaned-up
 * LoadTest costs no API calls.
 */
import type { Logger } from 'pino';
import { type LoadTest, phaseFromConditions } from '../../api/loadtest.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import type { KubeClient } from '../runtime/kube-client.ts';
import { type KubeObject, type ResourceType, resources } from '../runtime/resources.ts';
import { labelKeys, reportConfigMapName } from './desired/names.ts';
import type { LoadTestCaches, Observed } from './observe.ts';

export interface CleanupContext {
  caches: LoadTestCaches;
  client: KubeClient;
  now: () => number;
  log: Logger;
  signal: AbortSignal;
}

export async function cleanupRunnerObjects(
  context: CleanupContext,
  lt: LoadTest,
  observed: Observed,
): Promise<ReconcileResult> {
  const policy = lt.spec.cleanupPolicy ?? 'OnSuccess';
  const phase = phaseFromConditions(lt.status?.conditions);
  if (policy === 'Never' || (policy === 'OnSuccess' && phase === 'Failed')) return undefined;
  const finishedAt = Date.parse(lt.status?.completionTime ?? '') || context.now();
  const dueAt = finishedAt + (lt.spec.ttlSecondsAfterFinished ?? 0) * 1000;
  if (context.now() < dueAt) return { requeueAfterMs: dueAt - context.now() };

  const namespace = lt.metadata.namespace ?? '';
  const name = lt.metadata.name ?? '';
  const report = reportConfigMapName(name);
  const mine = (object: Readonly<KubeObject>) =>
    object.metadata?.labels?.[labelKeys.loadTest] === name &&
    (object.metadata?.ownerReferences ?? []).some((reference) => reference.uid === lt.metadata.uid);
  const uid = lt.metadata.uid ?? '';
  const owned = (cache: { byOwner(uid: string): Readonly<KubeObject>[] }, resource: ResourceType) =>
    cache.byOwner(uid).map((object) => [resource, object] as [ResourceType, Readonly<KubeObject>]);
  const doomed: [ResourceType, Readonly<KubeObject>][] = [
    ...(observed.job ? [[resources.jobs, observed.job] as [ResourceType, Readonly<KubeObject>]] : []),
    ...owned(context.caches.services, resources.services),
    ...owned(context.caches.configMaps, resources.configMaps).filter(([, o]) => o.metadata?.name !== report),
    ...owned(context.caches.roleBindings, resources.roleBindings),
    ...owned(context.caches.roles, resources.roles),
    ...owned(context.caches.serviceAccounts, resources.serviceAccounts),
  ];
  let deleted = 0;
  for (const [resource, object] of doomed) {
    if (object.metadata?.namespace !== namespace || !mine(object) || object.metadata?.deletionTimestamp) continue;
    // Background: the garbage collector removes the Job's pods.
    await context.client.delete(resource, namespace, object.metadata?.name ?? '', {
      propagationPolicy: 'Background',
      signal: context.signal,
    });
    deleted++;
  }
  if (deleted > 0) context.log.info({ deleted, policy }, 'runner objects deleted');
  return undefined;
}
