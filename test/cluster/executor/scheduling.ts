/** Whether a pod may run on the executor's node: nodeSelector, required node affinity and taints, as the scheduler's filters decide them. */
import type { NodeInfo, NodeSelectorRequirement, NodeSelectorTerm, Pod, Taint, Toleration } from './types.ts';

export type Fit = { fits: true } | { fits: false; message: string };

export function podFitsNode(pod: Pod, node: NodeInfo): Fit {
  if (!matchesNodeSelector(pod, node) || !matchesRequiredAffinity(pod, node)) {
    return { fits: false, message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector." };
  }
  const untolerated = node.taints.find(
    (taint) => taint.effect !== 'PreferNoSchedule' && !(pod.spec.tolerations ?? []).some((t) => tolerates(t, taint)),
  );
  if (untolerated) {
    const value = untolerated.value ? `: ${untolerated.value}` : '';
    return {
      fits: false,
      message: `0/1 nodes are available: 1 node(s) had untolerated taint {${untolerated.key}${value}}.`,
    };
  }
  return { fits: true };
}

function matchesNodeSelector(pod: Pod, node: NodeInfo): boolean {
  return Object.entries(pod.spec.nodeSelector ?? {}).every(([key, value]) => node.labels[key] === value);
}

function matchesRequiredAffinity(pod: Pod, node: NodeInfo): boolean {
  const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return true;
  return required.nodeSelectorTerms.some((term) => termMatches(term, node));
}

function termMatches(term: NodeSelectorTerm, node: NodeInfo): boolean {
  const expressions = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  // An empty term selects nothing.
  if (expressions.length === 0 && fields.length === 0) return false;
  return (
    expressions.every((req) => requirementMatches(req, node.labels)) &&
    fields.every((req) => requirementMatches(req, { 'metadata.name': node.name }))
  );
}

function requirementMatches(req: NodeSelectorRequirement, labels: Record<string, string>): boolean {
  const value = labels[req.key];
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || values.length !== 1) return false;
      const have = Number.parseInt(value, 10);
      const want = Number.parseInt(values[0] ?? '', 10);
      if (Number.isNaN(have) || Number.isNaN(want)) return false;
      return req.operator === 'Gt' ? have > want : have < want;
    }
    default:
      return false;
  }
}

export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.operator === 'Exists') return !toleration.key || toleration.key === taint.key;
  return toleration.key === taint.key && (toleration.value ?? '') === (taint.value ?? '');
}
