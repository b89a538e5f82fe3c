/**
 * What the ObservabilityStack controller may do, rule by rule. Rendered into deploy/ and the Helm chart
 * (operator/rbac.ts). Every verb here is used by reconcile.ts, optional-kinds.ts, controller.ts or the runtime
 * under them (Secrets: owned-secrets.ts). prometheus-operator and grafana-operator are detected with API discovery (`GET /apis/<group>/...`,
 * open to every authenticated user through system:discovery), so no access to CRDs is needed.
 */
import type { PolicyRuleWithReason } from '../runtime/policy-rule.ts';

export const observabilityStackPolicyRules: PolicyRuleWithReason[] = [
  {
    apiGroups: ['loadlm.dev'],
    resources: ['observabilitystacks'],
    verbs: ['get', 'list', 'watch', 'patch'],
    why: 'Watch ObservabilityStacks and add/remove the cleanup finalizer (patch).',
  },
  {
    apiGroups: ['loadlm.dev'],
    resources: ['observabilitystacks/status'],
    verbs: ['get', 'patch', 'update'],
    why: 'Report conditions, managed objects and Grafana objects.',
  },
  {
    apiGroups: ['loadlm.dev'],
    resources: ['observabilitystacks/finalizers'],
    verbs: ['update'],
    why: 'Owner references with blockOwnerDeletion need it where OwnerReferencesPermissionEnforcement is on.',
  },
  {
    apiGroups: ['monitoring.coreos.com'],
    resources: ['servicemonitors', 'prometheusrules'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
    why: 'Apply the ServiceMonitors and the PrometheusRule of a stack (server-side apply), prune and delete them.',
  },
  {
    apiGroups: ['monitoring.coreos.com'],
    resources: ['prometheuses'],
    verbs: ['get', 'list', 'watch'],
    why: 'Check that a Prometheus selects our ServiceMonitors and rule (NoMatchingPrometheus).',
  },
  {
    apiGroups: ['grafana.integreatly.org'],
    resources: ['grafanadatasources', 'grafanadashboards'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
    why: 'Grafana mode operator: apply, prune and delete GrafanaDatasources and GrafanaDashboards.',
  },
  {
    apiGroups: [''],
    resources: ['configmaps'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
    why: 'Grafana mode sidecar: apply, prune and delete the dashboard ConfigMaps (cached by the managed-by label).',
  },
  {
    apiGroups: [''],
    resources: ['secrets'],
    verbs: ['get', 'create', 'patch', 'delete'],
    why:
      'Read the credential Secrets a stack names and its own datasource Secrets, by name (get); apply (create, ' +
      'patch) and delete its own by name. No list or watch: RBAC cannot limit those to a label, so the operator ' +
      'could read every Secret.',
  },
  {
    apiGroups: ['events.k8s.io'],
    resources: ['events'],
    verbs: ['create', 'patch'],
    why: 'Record an Event on each condition change of a stack.',
  },
  {
    apiGroups: [''],
    resources: ['namespaces'],
    verbs: ['get'],
    why: "Read a namespace's labels to evaluate a Prometheus's serviceMonitorNamespaceSelector/ruleNamespaceSelector.",
  },
];
