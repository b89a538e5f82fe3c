/**
 * The Secrets a stack creates (the sidecar datasource file, the grafana-operator credential copy) are handled
 * without a cache. RBAC cannot narrow list/watch to a label, so an informer on Secrets, however label-selected,
 * would need permission to read every Secret in the cluster. Their names are fixed (desired/names.ts), so they
 * are read with a GET by name, written with server-side apply and deleted by name: the operator needs `get`,
 * `create`, `patch` and `delete` on Secrets, never `list` or `watch` (rbac.ts).
 *
 * Which of them may exist is known without listing: what status.managedObjects recorded (kept until deleted,
 * also across a namespace change in the spec) plus the names the current spec yields (in case the operator
 * stopped between an apply and the status write). Someone else changing or deleting one of them is noticed on
 * the stack's next pass (a spec change, a retry or the periodic resync), not at once: nothing watches them.
 */
import type { ManagedObject, ObservabilityStack } from '../../api/observabilitystack.ts';
import { isConflict } from '../runtime/api-error.ts';
import { type Applier, needsApply } from '../runtime/apply.ts';
import type { KubeClient } from '../runtime/kube-client.ts';
import { type KubeObject, resources } from '../runtime/resources.ts';
import {
  datasourceAuthSecretName,
  datasourceSecretName,
  grafanaOperatorNamespace,
  sidecarNamespace,
  trackedStackKey,
} from './desired/index.ts';

export interface SecretLocation {
  namespace: string;
  name: string;
}

const keyOf = (location: SecretLocation) => `${location.namespace}/${location.name}`;

/** The Secrets the stack's current spec could have made, in either Grafana mode that creates one. */
export function possibleOwnedSecrets(stack: ObservabilityStack): SecretLocation[] {
  const name = stack.metadata.name ?? '';
  return [
    { namespace: sidecarNamespace(stack), name: datasourceSecretName(name) },
    { namespace: grafanaOperatorNamespace(stack), name: datasourceAuthSecretName(name) },
  ];
}

/** The Secrets status.managedObjects records. */
export function recordedOwnedSecrets(stack: Pick<ObservabilityStack, 'status'>): SecretLocation[] {
  return (stack.status?.managedObjects ?? [])
    .filter((object) => object.kind === 'Secret' && object.apiVersion === 'v1' && object.namespace)
    .map((object) => ({ namespace: object.namespace ?? '', name: object.name }));
}

export function secretManagedObjects(locations: Iterable<SecretLocation>): ManagedObject[] {
  return [...locations].map(({ namespace, name }) => ({ apiVersion: 'v1', kind: 'Secret', namespace, name }));
}

/**
 * Whether applying `desired` would change `current` (both as the apiserver has them, data base64). No
 * applied-hash annotation is used for Secrets, so no digest of secret values ends up in metadata: the data is
 * compared directly, including keys that are no longer wanted.
 */
export function secretNeedsApply(desired: KubeObject, current: Readonly<KubeObject>, fieldManager: string): boolean {
  if (needsApply(desired, current, fieldManager)) return true;
  const wantedKeys = Object.keys((desired as { data?: object }).data ?? {}).sort();
  const actualKeys = Object.keys((current as { data?: object }).data ?? {}).sort();
  return wantedKeys.join('\n') !== actualKeys.join('\n');
}

export interface OwnedSecretsContext {
  client: KubeClient;
  applier: Applier;
  /** Namespaces the operator watches (empty: all); Secrets elsewhere are out of its reach and left alone. */
  watchedNamespaces: readonly string[];
  signal: AbortSignal;
}

/**
 * Applies each desired Secret unless a GET shows it already matches, and deletes the stack's other Secrets
 * (recorded or possible) that exist. `owned` is kept current as it goes — every Secret that may still exist —
 * so that after a failure half-way the caller still records what is left.
 */
export async function syncOwnedSecrets(
  context: OwnedSecretsContext,
  stack: ObservabilityStack,
  desired: readonly KubeObject[],
  owned: Map<string, SecretLocation>,
): Promise<{ applied: number; deleted: number }> {
  const wanted = new Set<string>();
  let applied = 0;
  for (const object of desired) {
    const location = { namespace: object.metadata?.namespace ?? '', name: object.metadata?.name ?? '' };
    wanted.add(keyOf(location));
    owned.set(keyOf(location), location);
    const current = await context.client.getIfExists(resources.secrets, location.namespace, location.name);
    if (!current || secretNeedsApply(object, current, context.applier.fieldManager)) {
      await context.applier.apply(resources.secrets, object, { signal: context.signal });
      applied++;
    }
  }
  let deleted = 0;
  for (const location of candidates(context, stack)) {
    if (wanted.has(keyOf(location))) continue;
    if (await deleteIfOwned(context, stack, location)) deleted++;
    owned.delete(keyOf(location));
  }
  return { applied, deleted };
}

/** Deletes every Secret of the stack (the finalizer); returns how many existed. */
export async function deleteOwnedSecrets(context: OwnedSecretsContext, stack: ObservabilityStack): Promise<number> {
  let deleted = 0;
  for (const location of candidates(context, stack)) {
    if (await deleteIfOwned(context, stack, location)) deleted++;
  }
  return deleted;
}

function candidates(context: OwnedSecretsContext, stack: ObservabilityStack): SecretLocation[] {
  const all = new Map<string, SecretLocation>();
  for (const location of [...recordedOwnedSecrets(stack), ...possibleOwnedSecrets(stack)]) {
    all.set(keyOf(location), location);
  }
  const watched = context.watchedNamespaces;
  return [...all.values()].filter((location) => watched.length === 0 || watched.includes(location.namespace));
}

/**
 * GET, then DELETE only a Secret carrying this stack's tracking labels (a Secret of the same name made by
 * someone else stays), with its uid as precondition so that a replacement made in between is not deleted.
 */
async function deleteIfOwned(
  context: OwnedSecretsContext,
  stack: ObservabilityStack,
  location: SecretLocation,
): Promise<boolean> {
  const { client, signal } = context;
  const current = await client.getIfExists(resources.secrets, location.namespace, location.name);
  if (!current) return false;
  const stackKey = `${stack.metadata.namespace}/${stack.metadata.name}`;
  if (trackedStackKey(current.metadata?.labels) !== stackKey) return false;
  const uid = current.metadata?.uid;
  try {
    return await client.delete(resources.secrets, location.namespace, location.name, {
      signal,
      ...(uid ? { preconditions: { uid } } : {}),
    });
  } catch (error) {
    if (isConflict(error)) return false;
    throw error;
  }
}
