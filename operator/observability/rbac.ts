/** What the ObservabilityStack controller may do, rule by rule. Rendered into deploy/ and the Helm chart. */
import type { PolicyRuleWithReason } from '../runtime/policy-rule.ts';

export const observabilityStackPolicyRules: PolicyRuleWithReason[] = [
  {
    apiGroups: ['loadlm.dev'],
    resources: ['observabilitystacks'],
    verbs: ['get', 'list', 'watch', 'patch', 'update'],
    why: 'Watch ObservabilityStacks and add/remove the cleanup finalizer.',
  },
  {
    apiGroups: ['loadlm.dev'],
    resources: ['observabilitystacks/status'],
    verbs: ['get', 'patch', 'update'],
    why: 'Report conditions and managed objects.',
  },
  {
    apiGroups: ['monitoring.coreos.com'],
    resources: ['servicemonitors', 'prometheusrules'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
    why: 'Create the ServiceMonitors and the PrometheusRule of a stack and delete them when it goes.',
  },
  {
    apiGroups: ['monitoring.coreos.com'],
    resources: ['prometheuses'],
    verbs: ['get', 'list', 'watch'],
    why: 'Check that a Prometheus selects our ServiceMonitors and rules (NoMatchingPrometheus).',
  },
  {
    apiGroups: ['apiextensions.k8s.io'],
    resources: ['customresourcedefinitions'],
    verbs: ['get', 'list', 'watch'],
    why: 'Tell whether prometheus-operator and grafana-operator are installed (PrometheusOperatorNotInstalled).',
  },
];
