/**
 * What the LoadTest controller may do, rule by rule, in the namespaces it watches. Rendered into deploy/ and the
 * Helm chart (operator/rbac.ts). Every verb here is used by reconcile.ts, cleanup.ts or the runtime under them;
 * a rule without a use is a bug, as is a use without a rule (test/integration/deploy proves the set suffices).
 */
import type { PolicyRuleWithReason } from '../runtime/policy-rule.ts';

export const loadTestPolicyRules: PolicyRuleWithReason[] = [
  {
    apiGroups: ['loadlm.dev'],
    resources: ['loadtests'],
    verbs: ['get', 'list', 'watch'],
    why: 'Watch LoadTests (the spec is immutable and there is no finalizer: the operator never writes the main object).',
  },
  {
    apiGroups: ['loadlm.dev'],
    resources: ['loadtests/status'],
    verbs: ['get', 'patch', 'update'],
    why: 'Write conditions, progress and results to status.',
  },
  {
    apiGroups: ['loadlm.dev'],
    resources: ['loadtests/finalizers'],
    verbs: ['update'],
    why: 'Owner references with blockOwnerDeletion need it where OwnerReferencesPermissionEnforcement is on.',
  },
  {
    apiGroups: ['batch'],
    resources: ['jobs'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
    why: 'Run the runners as one Indexed Job (server-side apply creates it), suspend it on abort, delete it on cleanup.',
  },
  {
    apiGroups: [''],
    resources: ['pods'],
    verbs: ['get', 'list', 'watch'],
    why: 'Read runner pod states to explain failures (OOMKilled, ImagePullBackOff, Unschedulable); pods are never written.',
  },
  {
    apiGroups: [''],
    resources: ['configmaps'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
    why:
      'Runner config, result placeholders, start signal and report; read a dataset ConfigMap; and hold what the ' +
      'runner Role grants (patch, get, list, watch), which RBAC requires of whoever creates that Role.',
  },
  {
    apiGroups: [''],
    resources: ['secrets'],
    verbs: ['get'],
    why:
      'Check that a target API-key Secret and its key exist before starting runners (only key names are read); ' +
      'get by name only: no list or watch, so the operator cannot enumerate Secrets.',
  },
  {
    apiGroups: [''],
    resources: ['services'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
    why: 'The headless runner metrics Service; get resolves a target Service named port.',
  },
  {
    apiGroups: [''],
    resources: ['serviceaccounts'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
    why: 'A ServiceAccount per LoadTest for its runners, deleted on cleanup.',
  },
  {
    apiGroups: ['rbac.authorization.k8s.io'],
    resources: ['roles', 'rolebindings'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
    why:
      "The runners' Role and RoleBinding (patch their result ConfigMaps, read the start signal, by resourceNames); " +
      'RBAC refuses a Role granting more than the operator holds, so this cannot escalate.',
  },
  {
    apiGroups: ['events.k8s.io'],
    resources: ['events'],
    verbs: ['create', 'patch'],
    why: 'Record condition changes as Events on LoadTests (patch counts repeats).',
  },
];
