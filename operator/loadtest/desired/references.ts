/**
 * What a LoadTest refers to in its namespace (API key Secrets, a dataset ConfigMap), and a pure check of what
 * the reconcile found: before creating any runner it can set Accepted=False with an actionable reason instead of
 * leaving pods stuck in CreateContainerConfigError or ContainerCreating.
 */
import type { LoadTest } from '../../../api/loadtest.ts';

export interface KeyReference {
  kind: 'Secret' | 'ConfigMap';
  name: string;
  key: string;
  /** The spec field that names it, for messages. */
  field: string;
}

export function requiredReferences(lt: Pick<LoadTest, 'spec'>): KeyReference[] {
  const refs: KeyReference[] = [];
  lt.spec.targets.forEach((target, index) => {
    if (target.apiKeySecretRef) {
      refs.push({ kind: 'Secret', ...target.apiKeySecretRef, field: `spec.targets[${index}].apiKeySecretRef` });
    }
  });
  const dataset = lt.spec.data.dataset;
  if (dataset) refs.push({ kind: 'ConfigMap', ...dataset.configMapRef, field: 'spec.data.dataset.configMapRef' });
  return refs;
}

/** Keys present per object name; a missing name means the object does not exist. Never pass values. */
export interface FoundObjects {
  secrets: ReadonlyMap<string, readonly string[]>;
  configMaps: ReadonlyMap<string, readonly string[]>;
}

export interface ReferenceProblem {
  reason: 'SecretNotFound' | 'SecretKeyNotFound' | 'DatasetNotFound' | 'DatasetKeyNotFound';
  message: string;
}

/** The first unresolved reference, or undefined when all resolve. */
export function checkReferences(
  lt: Pick<LoadTest, 'spec' | 'metadata'>,
  found: FoundObjects,
): ReferenceProblem | undefined {
  const namespace = lt.metadata.namespace ?? '';
  for (const ref of requiredReferences(lt)) {
    const keys = (ref.kind === 'Secret' ? found.secrets : found.configMaps).get(ref.name);
    const secret = ref.kind === 'Secret';
    if (keys === undefined) {
      return {
        reason: secret ? 'SecretNotFound' : 'DatasetNotFound',
        message:
          `${ref.kind} ${namespace}/${ref.name} (${ref.field}) does not exist: create it, or fix the reference ` +
          '(a LoadTest is immutable: create a new one). The test starts once it exists, within spec.startupDeadlineSeconds.',
      };
    }
    if (!keys.includes(ref.key)) {
      return {
        reason: secret ? 'SecretKeyNotFound' : 'DatasetKeyNotFound',
        message: `${ref.kind} ${namespace}/${ref.name} (${ref.field}) has no key "${ref.key}"${
          keys.length > 0 ? ` (it has: ${keys.slice(0, 10).join(', ')})` : ' (it is empty)'
        }`,
      };
    }
  }
  return undefined;
}
