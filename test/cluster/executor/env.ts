/**
 * A container's environment, resolved as the kubelet resolves it: `envFrom` first, then `env` in order, with
 * `$(VAR)` expansion against the variables defined so far, Secret/ConfigMap references honouring `optional`, and
 * the downward API (`fieldRef`, `resourceFieldRef`). Failures carry the kubelet's messages and end up as a
 * `CreateContainerConfigError`.
 */
import { expandVars } from './expansion.ts';
import { parseQuantity } from './quantity.ts';
import type { Container, KeyedData, Pod } from './types.ts';

export interface EnvSources {
  /** The Secret's data, base64 as stored, or undefined when it does not exist. */
  secret(name: string): Promise<KeyedData | undefined>;
  configMap(name: string): Promise<KeyedData | undefined>;
}

export interface DownwardContext {
  podIP: string;
  hostIP: string;
  /** Node allocatable, for `resourceFieldRef` of unset limits. */
  allocatable: { cpu: number; memory: number; 'ephemeral-storage': number };
}

/** A container cannot be configured yet; the kubelet reports it as `CreateContainerConfigError` and retries. */
export class ContainerConfigError extends Error {
  override name = 'ContainerConfigError';
}

export async function resolveEnv(
  pod: Pod,
  container: Container,
  sources: EnvSources,
  context: DownwardContext,
): Promise<Map<string, string>> {
  const namespace = pod.metadata.namespace ?? 'default';
  const env = new Map<string, string>();
  const secretCache = new Map<string, KeyedData | undefined>();
  const configMapCache = new Map<string, KeyedData | undefined>();
  const getSecret = async (name: string) => {
    if (!secretCache.has(name)) secretCache.set(name, await sources.secret(name));
    return secretCache.get(name);
  };
  const getConfigMap = async (name: string) => {
    if (!configMapCache.has(name)) configMapCache.set(name, await sources.configMap(name));
    return configMapCache.get(name);
  };

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const name = from.configMapRef.name ?? '';
      const configMap = await getConfigMap(name);
      if (!configMap) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${name}" not found`);
      }
      for (const [key, value] of Object.entries(configMap.data ?? {})) setFromSource(env, prefix + key, value);
    } else if (from.secretRef) {
      const name = from.secretRef.name ?? '';
      const secret = await getSecret(name);
      if (!secret) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${name}" not found`);
      }
      for (const [key, value] of Object.entries(secret.data ?? {})) setFromSource(env, prefix + key, decode(value));
    }
  }

  for (const variable of container.env ?? []) {
    const source = variable.valueFrom;
    if (!source) {
      env.set(
        variable.name,
        expandVars(variable.value ?? '', (name) => env.get(name)),
      );
      continue;
    }
    if (source.configMapKeyRef) {
      const { name = '', key, optional } = source.configMapKeyRef;
      const configMap = await getConfigMap(name);
      if (!configMap) {
        if (optional) continue;
        throw new ContainerConfigError(`configmap "${name}" not found`);
      }
      const value = configMap.data?.[key];
      if (value === undefined) {
        if (optional) continue;
        throw new ContainerConfigError(`couldn't find key ${key} in ConfigMap ${namespace}/${name}`);
      }
      env.set(variable.name, value);
    } else if (source.secretKeyRef) {
      const { name = '', key, optional } = source.secretKeyRef;
      const secret = await getSecret(name);
      if (!secret) {
        if (optional) continue;
        throw new ContainerConfigError(`secret "${name}" not found`);
      }
      const value = secret.data?.[key];
      if (value === undefined) {
        if (optional) continue;
        throw new ContainerConfigError(`couldn't find key ${key} in Secret ${namespace}/${name}`);
      }
      env.set(variable.name, decode(value));
    } else if (source.fieldRef) {
      env.set(variable.name, fieldValue(pod, source.fieldRef.fieldPath, context));
    } else if (source.resourceFieldRef) {
      env.set(variable.name, resourceValue(pod, container, source.resourceFieldRef, context));
    }
  }
  return env;
}

function setFromSource(env: Map<string, string>, name: string, value: string): void {
  // The kubelet skips keys that cannot be variable names (and records an event).
  if (name === '' || name.includes('=')) return;
  env.set(name, value);
}

function decode(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}

/** The downward API's `fieldRef` paths valid for env vars. */
export function fieldValue(pod: Pod, fieldPath: string, context: DownwardContext): string {
  const subscript = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (subscript) {
    const map = subscript[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations;
    return map?.[subscript[2] ?? ''] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'spec.nodeName':
      return pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return context.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return context.hostIP;
    default:
      throw new ContainerConfigError(`unsupported fieldPath: ${fieldPath}`);
  }
}

function resourceValue(
  pod: Pod,
  container: Container,
  ref: { resource: string; containerName?: string; divisor?: string | number },
  context: DownwardContext,
): string {
  const target = ref.containerName
    ? [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.name === ref.containerName)
    : container;
  if (!target) throw new ContainerConfigError(`container ${ref.containerName} not found in pod`);
  const match = /^(limits|requests)\.(.+)$/.exec(ref.resource);
  if (!match) throw new ContainerConfigError(`unsupported container resource: ${ref.resource}`);
  const [, kind, resource = ''] = match;
  const declared = target.resources?.[kind as 'limits' | 'requests']?.[resource];
  const allocatable = context.allocatable[resource as keyof DownwardContext['allocatable']];
  let value: number;
  if (declared !== undefined) value = parseQuantity(declared);
  else if (kind === 'limits' && allocatable !== undefined) value = allocatable;
  else value = 0;
  const divisor = parseQuantity(ref.divisor ?? 1) || 1;
  return String(Math.ceil(value / divisor - 1e-9));
}
