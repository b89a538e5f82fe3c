/**
 * The stack's PrometheusRule: the alert groups of alert-rules.ts with the configured thresholds, labelled with
 * prometheus.ruleLabels (default: serviceMonitorLabels) so that the cluster's Prometheus selects it. Absent when
 * alerts are disabled.
 */
import { AlertSettings, type ObservabilityStack } from '../../../api/observabilitystack.ts';
import { alertRuleGroups } from './alert-rules.ts';
import type { PrometheusRule } from './kinds.ts';
import { ownerReferencesIn, prometheusRuleName, stackLabels, stackRef } from './names.ts';
import { monitoringNamespace } from './service-monitors.ts';

/** spec.alerts with defaults (an absent spec.alerts means the default alerts). */
export function effectiveAlerts(stack: ObservabilityStack): AlertSettings {
  return stack.spec.alerts ?? AlertSettings.parse({});
}

/** The labels that make Prometheus select the rule. */
export function ruleSelectionLabels(stack: ObservabilityStack): Record<string, string> {
  return { ...(stack.spec.prometheus.ruleLabels ?? stack.spec.prometheus.serviceMonitorLabels) };
}

export function renderPrometheusRule(stack: ObservabilityStack): PrometheusRule | undefined {
  const alerts = effectiveAlerts(stack);
  if (!alerts.enabled) return undefined;
  const ref = stackRef(stack);
  const namespace = monitoringNamespace(stack);
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: prometheusRuleName(ref.name),
      namespace,
      labels: { ...ruleSelectionLabels(stack), ...stackLabels(ref, 'alerts') },
      ownerReferences: ownerReferencesIn(stack, namespace),
    },
    spec: {
      groups: alertRuleGroups(alerts).map((group) => ({
        name: group.name,
        ...(group.interval !== undefined ? { interval: group.interval } : {}),
        rules: group.rules.map((rule) => ({ ...rule })),
      })),
    },
  };
}
