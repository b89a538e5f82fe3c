/**
 * Does a Prometheus (prometheus-operator) select our ServiceMonitors / PrometheusRule? Pure functions over the
 * Prometheus objects' selectors, with prometheus-operator's semantics: a null object selector selects nothing,
 * an empty one everything; a null namespace selector means the Prometheus's own namespace only, an empty one
 * every namespace.
 */
import type { LabelSelector, Prometheus } from './desired/kinds.ts';

export type SelectedKind = 'serviceMonitor' | 'rule';

export interface Candidate {
  namespace: string;
  labels: Readonly<Record<string, string>>;
}

/** Whether a Kubernetes label selector matches `labels` (an empty selector matches everything). */
export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const expression of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, expression.key);
    const value = labels[expression.key];
    const values = expression.values ?? [];
    switch (expression.operator) {
      case 'In':
        if (!has || value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (has && value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A selector as `{release=kube-prometheus-stack, app in (a,b)}` for messages. */
export function describeSelector(selector: LabelSelector | null | undefined): string {
  if (selector === null || selector === undefined) return 'null (selects nothing)';
  const parts = [
    ...Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`),
    ...(selector.matchExpressions ?? []).map((expression) =>
      expression.operator === 'Exists' || expression.operator === 'DoesNotExist'
        ? `${expression.operator === 'DoesNotExist' ? '!' : ''}${expression.key}`
        : `${expression.key} ${expression.operator.toLowerCase()} (${(expression.values ?? []).join(',')})`,
    ),
  ];
  return parts.length === 0 ? '{} (selects everything)' : `{${parts.join(', ')}}`;
}

function selectors(prometheus: Prometheus, kind: SelectedKind) {
  const spec = prometheus.spec ?? {};
  return kind === 'serviceMonitor'
    ? { objects: spec.serviceMonitorSelector, namespaces: spec.serviceMonitorNamespaceSelector }
    : { objects: spec.ruleSelector, namespaces: spec.ruleNamespaceSelector };
}

/** Whether the namespace selector needs the candidate namespace's labels (neither null nor empty). */
export function needsNamespaceLabels(prometheus: Prometheus, kind: SelectedKind): boolean {
  const selector = selectors(prometheus, kind).namespaces;
  return (
    selector !== null &&
    selector !== undefined &&
    (Object.keys(selector.matchLabels ?? {}).length > 0 || (selector.matchExpressions ?? []).length > 0)
  );
}

export interface SelectionVerdict {
  selected: boolean;
  /** Why not, naming the selector that does not match. */
  why?: string;
}

/**
 * Whether `prometheus` selects `candidate`. `namespaceLabels` are the candidate namespace's labels (needed only
 * when `needsNamespaceLabels`).
 */
export function prometheusSelects(
  prometheus: Prometheus,
  kind: SelectedKind,
  candidate: Candidate,
  namespaceLabels: Readonly<Record<string, string>> = {},
): SelectionVerdict {
  const { objects, namespaces } = selectors(prometheus, kind);
  const field = kind === 'serviceMonitor' ? 'serviceMonitor' : 'rule';
  if (objects === null || objects === undefined) {
    return { selected: false, why: `its ${field}Selector is null (selects nothing)` };
  }
  if (!selectorMatches(objects, candidate.labels)) {
    return { selected: false, why: `its ${field}Selector ${describeSelector(objects)} does not match our labels` };
  }
  const own = prometheus.metadata?.namespace;
  if (namespaces === null || namespaces === undefined) {
    if (candidate.namespace !== own) {
      return {
        selected: false,
        why: `its ${field}NamespaceSelector is null (only namespace ${own}), ours are in ${candidate.namespace}`,
      };
    }
    return { selected: true };
  }
  if (!selectorMatches(namespaces, namespaceLabels)) {
    return {
      selected: false,
      why: `its ${field}NamespaceSelector ${describeSelector(namespaces)} does not match namespace ${candidate.namespace}`,
    };
  }
  return { selected: true };
}

export interface SelectionReport {
  /** `namespace/name` of each Prometheus that selects the candidate. */
  selectedBy: string[];
  /** One line per Prometheus that does not. */
  rejections: string[];
}

export function selectionReport(
  prometheuses: readonly Readonly<Prometheus>[],
  kind: SelectedKind,
  candidate: Candidate,
  namespaceLabels: Readonly<Record<string, string>> = {},
): SelectionReport {
  const report: SelectionReport = { selectedBy: [], rejections: [] };
  for (const prometheus of prometheuses) {
    const id = `${prometheus.metadata?.namespace}/${prometheus.metadata?.name}`;
    const verdict = prometheusSelects(prometheus, kind, candidate, namespaceLabels);
    if (verdict.selected) report.selectedBy.push(id);
    else report.rejections.push(`Prometheus ${id}: ${verdict.why}`);
  }
  return report;
}
