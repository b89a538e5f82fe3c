/**
 * Cleanup of a finished LoadTest: spec.cleanupPolicy decides whether its runner objects go (`Always`;
 * `OnSuccess`: every run that completed, Succeeded or ThresholdsBreached, while Failed runs are kept for
 * debugging; `Never`), spec.ttlSecondsAfterFinished when. The LoadTest, its status and the report ConfigMap
 * always stay. Only objects still in the cache are deleted, so a cleaned-up LoadTest costs no API calls.
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
  const doomed: [ResourceType, Readonly<KubeObject>][] = [
    ...(observed.job ? [[resources.jobs, observed.job] as [ResourceType, Readonly<KubeObject>]] : []),
    ...context.caches.services.list(namespace).map((o) => [resources.services, o] as [ResourceType, typeof o]),
    ...context.caches.configMaps
      .list(namespace)
      .filter((o) => o.metadata.name !== report)
      .map((o) => [resources.configMaps, o] as [ResourceType, typeof o]),
    ...context.caches.roleBindings.list(namespace).map((o) => [resources.roleBindings, o] as [ResourceType, typeof o]),
    ...context.caches.roles.list(namespace).map((o) => [resources.roles, o] as [ResourceType, typeof o]),
    ...context.caches.serviceAccounts
      .list(namespace)
      .map((o) => [resources.serviceAccounts, o] as [ResourceType, typeof o]),
  ];
  let deleted = 0;
  for (const [resource, object] of doomed) {
    if (!mine(object) || object.metadata?.deletionTimestamp) continue;
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
