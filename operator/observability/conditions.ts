/**
 * The four conditions of an ObservabilityStack, from what each part of the reconcile found (pure). Ready is True
 * when every part is; otherwise it carries the first failing part's reason, so `kubectl get obs -o wide` says
 * what to do.
 */
import { ObservabilityStackConditionType } from '../../api/observabilitystack.ts';
import { type Condition, findCondition, setConditions } from '../runtime/conditions.ts';

export interface PartOutcome {
  ok: boolean;
  /** CamelCase, e.g. `Selected`, `PrometheusOperatorNotInstalled`, `GrafanaUnreachable`. */
  reason: string;
  message: string;
}

export interface PartOutcomes {
  serviceMonitors: PartOutcome;
  alerts: PartOutcome;
  grafana: PartOutcome;
}

const partTypes = [
  [ObservabilityStackConditionType.ServiceMonitorsReady, 'serviceMonitors'],
  [ObservabilityStackConditionType.AlertsReady, 'alerts'],
  [ObservabilityStackConditionType.GrafanaReady, 'grafana'],
] as const;

export function readyOutcome(parts: PartOutcomes): PartOutcome {
  for (const [type, key] of partTypes) {
    const part = parts[key];
    if (!part.ok) return { ok: false, reason: part.reason, message: `${type}: ${part.message}` };
  }
  return { ok: true, reason: 'Ready', message: 'ServiceMonitors, alerts and Grafana are in place' };
}

export function stackConditions(
  before: readonly Condition[] | undefined,
  parts: PartOutcomes,
  generation: number | undefined,
  now: number,
): Condition[] {
  const ready = readyOutcome(parts);
  const update = (type: string, outcome: PartOutcome) => ({
    type,
    status: outcome.ok ? ('True' as const) : ('False' as const),
    reason: outcome.reason,
    message: outcome.message.slice(0, 4000),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  });
  return setConditions(
    before,
    [update(ObservabilityStackConditionType.Ready, ready), ...partTypes.map(([type, key]) => update(type, parts[key]))],
    now,
  );
}

export interface ConditionChange {
  type: string;
  eventType: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** Conditions whose status or reason changed (one Event each). */
export function conditionChanges(
  before: readonly Condition[] | undefined,
  after: readonly Condition[],
): ConditionChange[] {
  const changes: ConditionChange[] = [];
  for (const condition of after) {
    const previous = findCondition(before, condition.type);
    if (previous && previous.status === condition.status && previous.reason === condition.reason) continue;
    changes.push({
      type: condition.type,
      eventType: condition.status === 'True' ? 'Normal' : 'Warning',
      reason: condition.reason,
      message: `${condition.type} ${condition.status}: ${condition.message}`,
    });
  }
  return changes;
}

/** Every part failed for the same reason (an invalid spec). */
export function allParts(outcome: PartOutcome): PartOutcomes {
  return { serviceMonitors: outcome, alerts: outcome, grafana: outcome };
}
