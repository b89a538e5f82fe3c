/**
 * Runner container resources: defaults (requests 500m CPU / 256Mi, limit 1Gi memory, no CPU limit: CFS
 * throttling would show up as dispatch lag) overridden key by key by spec.runner.resources, kept valid when an
 * override moves only one side (a request above a defaulted limit raises the limit; a limit below a defaulted
 * request lowers the request).
 */
import type { ResourceRequirements } from '../../../api/common.ts';
import { parseQuantity } from '../../../api/quantity.ts';
import type { ResourceList } from './kube-types.ts';

export const defaultRunnerResources = {
  requests: { cpu: '500m', memory: '256Mi' },
  limits: { memory: '1Gi' },
} as const;

export function runnerResources(overrides: ResourceRequirements | undefined): {
  requests: ResourceList;
  limits: ResourceList;
} {
  // Strings, as the apiserver returns quantities: an integer 2 would read back as "2" and look changed.
  const requests: ResourceList = { ...defaultRunnerResources.requests, ...asStrings(overrides?.requests) };
  const limits: ResourceList = { ...defaultRunnerResources.limits, ...asStrings(overrides?.limits) };
  for (const resource of new Set([...Object.keys(requests), ...Object.keys(limits)])) {
    const request = requests[resource];
    const limit = limits[resource];
    if (request === undefined || limit === undefined) continue;
    if (parseQuantity(request) <= parseQuantity(limit)) continue;
    if (overrides?.limits?.[resource] === undefined) limits[resource] = request;
    else if (overrides?.requests?.[resource] === undefined) requests[resource] = limit;
    // Both given by the user and inconsistent: left as is, the apiserver names the field.
  }
  return { requests, limits };
}

function asStrings(list: Record<string, string | number> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(list ?? {}).map(([key, value]) => [key, String(value)]));
}

/** Bytes as a short binary quantity for messages (`1Gi`, `768Mi`, `1500000`). */
export function formatBytes(bytes: number): string {
  for (const [suffix, factor] of [
    ['Gi', 2 ** 30],
    ['Mi', 2 ** 20],
    ['Ki', 2 ** 10],
  ] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${suffix}`;
  }
  return String(bytes);
}
