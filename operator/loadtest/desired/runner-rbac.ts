/**
 * The runner's API access, least privilege: a ServiceAccount `<lt>-runner` (unless spec.runner.
 * serviceAccountName names another, which is then bound instead), and a Role + RoleBinding `<lt>-runner` that
 * allow exactly
 * - `patch` on this test's result ConfigMaps `<lt>-result-0..N-1` (server-side apply of its result), and
 * - `get`, `list`, `watch` on the start signal `<lt>-start` (list/watch pass RBAC resourceNames only with a
 *   `metadata.name` field selector, which the runner always sends).
 *
 * No `create`: RBAC cannot restrict `create` by name (the name is not known when a create is authorized), so
 * granting it would let a runner create any ConfigMap in the namespace. Instead the operator pre-creates the
 * result ConfigMaps (renderResultPlaceholders) before the Job, and a runner's apply only patches them; an apply
 * that would create an object is authorized as `create` and refused.
 */
import type { LoadTest } from '../../../api/loadtest.ts';
import type { Role, RoleBinding, ServiceAccount } from './kube-types.ts';
import {
  loadTestRef,
  ownerReference,
  resultConfigMapName,
  runnerLabels,
  runnerRoleName,
  runnerServiceAccountName,
  startSignalName,
} from './names.ts';
import { expectedRunners } from './plan.ts';

export interface RunnerRbac {
  /** Absent when spec.runner.serviceAccountName names the ServiceAccount to use. */
  serviceAccount?: ServiceAccount;
  role: Role;
  roleBinding: RoleBinding;
}

export function renderRunnerRbac(lt: LoadTest): RunnerRbac {
  const ref = loadTestRef(lt);
  const meta = (name: string) => ({
    name,
    namespace: ref.namespace,
    labels: runnerLabels(ref.name),
    ownerReferences: [ownerReference(lt)],
  });
  const custom = lt.spec.runner?.serviceAccountName;
  const serviceAccountName = custom ?? runnerServiceAccountName(ref.name);
  const results = Array.from({ length: expectedRunners(lt).count }, (_, index) => resultConfigMapName(ref.name, index));
  const role: Role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: meta(runnerRoleName(ref.name)),
    rules: [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['patch'], resourceNames: results },
      {
        apiGroups: [''],
        resources: ['configmaps'],
        verbs: ['get', 'list', 'watch'],
        resourceNames: [startSignalName(ref.name)],
      },
    ],
  };
  const roleBinding: RoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: meta(runnerRoleName(ref.name)),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: runnerRoleName(ref.name) },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccountName, namespace: ref.namespace }],
  };
  return {
    ...(custom
      ? {}
      : { serviceAccount: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(serviceAccountName) } }),
    role,
    roleBinding,
  };
}
