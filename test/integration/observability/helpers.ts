/**
 * What the ObservabilityStack integration suites share: the controller alone on a Manager (short retry and
 * discovery intervals), running as a ServiceAccount that holds exactly the controller's RBAC rules
 * (operator/observability/rbac.ts: no list or watch on Secrets), kubectl reads, waits on conditions with
 * deadlines, and the operator's write count (from rest_client_requests_total) for the no-op check.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { ObservabilityStack } from '../../../api/observabilitystack.ts';
import { registerObservabilityStackController } from '../../../operator/observability/controller.ts';
import type { GrafanaApiFactory } from '../../../operator/observability/grafana-api-mode.ts';
import { observabilityStackPolicyRules } from '../../../operator/observability/rbac.ts';
import { connectionFromKubeconfig } from '../../../operator/runtime/kube-config.ts';
import { Manager } from '../../../operator/runtime/manager.ts';
import { type ClusterHandle, envNames, fromEnv, startCluster, waitFor } from '../../cluster/index.ts';
import { operatorTestLogger } from '../../support/operator.ts';

/** The shared cluster under `npm test`, else one of this file's own. */
export async function testCluster(): Promise<ClusterHandle> {
  if (process.env[envNames.kubeconfig] && process.env[envNames.kubectl]) return fromEnv();
  return startCluster();
}

export interface StackOperator {
  manager: Manager;
  /** PATCH/POST/PUT/DELETE requests the operator sent so far. */
  writes(): Promise<number>;
  /** Reconciles of the observabilitystack controller so far. */
  reconciles(): Promise<number>;
  /** Who the operator runs as: `system:serviceaccount:<namespace>:<name>` (for `kubectl auth can-i --as`). */
  user: string;
  stop(): Promise<void>;
}

/** Runs the controller as a ServiceAccount bound to its RBAC rules (in the first namespace), not as admin. */
export async function startStackOperator(
  cluster: ClusterHandle,
  options: { namespaces: string[]; grafanaApi?: GrafanaApiFactory },
): Promise<StackOperator> {
  const identity = await restrictedIdentity(cluster, options.namespaces[0] ?? 'default');
  const manager = await Manager.create({
    connection: await connectionFromKubeconfig(identity.kubeconfigPath),
    logger: operatorTestLogger('observability-test'),
    namespaces: options.namespaces,
    leaderElection: false,
  });
  registerObservabilityStackController(manager, {
    watchedNamespaces: options.namespaces,
    retryAfterMs: 500,
    discoveryTtlMs: 250,
    grafanaResyncMs: 60_000,
    ...(options.grafanaApi ? { grafanaApi: options.grafanaApi } : {}),
  });
  await manager.start();
  const metric = async (name: string, filter: (labels: Record<string, string | number>) => boolean) => {
    const metrics = await manager.registry.getMetricsAsJSON();
    const found = metrics.find((candidate) => candidate.name === name);
    return (found?.values ?? [])
      .filter((value) => filter(value.labels as Record<string, string | number>))
      .reduce((sum, value) => sum + value.value, 0);
  };
  return {
    manager,
    writes: () =>
      metric('rest_client_requests_total', (labels) =>
        ['PATCH', 'POST', 'PUT', 'DELETE'].includes(String(labels.method)),
      ),
    user: identity.user,
    reconciles: () =>
      metric('controller_runtime_reconcile_total', (labels) => labels.controller === 'observabilitystack'),
    stop: async () => {
      await manager.stop();
      await identity.remove();
    },
  };
}

/**
 * A kubeconfig for the ServiceAccount `loadlm-obs-operator` in `namespace`, bound cluster-wide to a ClusterRole
 * with exactly observabilityStackPolicyRules, so a rule the controller needs but lacks fails the suites.
 */
async function restrictedIdentity(
  cluster: ClusterHandle,
  namespace: string,
): Promise<{ kubeconfigPath: string; user: string; remove(): Promise<void> }> {
  const serviceAccount = 'loadlm-obs-operator';
  const roleName = `loadlm-obs-test-${namespace}`;
  const rbac = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: serviceAccount, namespace } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: roleName },
        rules: observabilityStackPolicyRules.map(({ why: _why, ...rule }) => rule),
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: roleName },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
        subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
      },
    ],
  };
  await cluster.kubectl(['apply', '--server-side', '--field-manager=tests', '-f', '-'], {
    input: JSON.stringify(rbac),
  });
  const asUser = `system:serviceaccount:${namespace}:${serviceAccount}`;
  // The authorizer learns of a new binding through its informers: wait until it applies.
  await waitFor('the operator RBAC to apply', () => canI(cluster, asUser, 'list', 'observabilitystacks', namespace));
  const token = (
    await cluster.kubectl(['create', 'token', serviceAccount, '--duration=2h'], { namespace })
  ).stdout.trim();

  // The admin kubeconfig's cluster entry (server, CA), with the ServiceAccount's token as the user.
  const admin = parse(readFileSync(cluster.kubeconfigPath, 'utf8')) as {
    'current-context'?: string;
    contexts?: { name: string; context: { cluster: string } }[];
    clusters?: { name: string; cluster: Record<string, unknown> }[];
  };
  const context = admin.contexts?.find((entry) => entry.name === admin['current-context']) ?? admin.contexts?.[0];
  const entry = admin.clusters?.find((candidate) => candidate.name === context?.context.cluster);
  if (!entry) throw new Error(`${cluster.kubeconfigPath}: no cluster for the current context`);
  const clusterSettings = { ...entry.cluster };
  const ca = clusterSettings['certificate-authority'];
  if (typeof ca === 'string' && !isAbsolute(ca)) {
    clusterSettings['certificate-authority'] = join(dirname(cluster.kubeconfigPath), ca);
  }
  const dir = mkdtempSync(join(tmpdir(), 'loadlm-obs-sa-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  const user = `${namespace}:${serviceAccount}`;
  writeFileSync(
    kubeconfigPath,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: clusterSettings }],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: 'operator', context: { cluster: 'local', user, namespace } }],
      'current-context': 'operator',
    }),
    { mode: 0o600 },
  );
  return {
    kubeconfigPath,
    user: asUser,
    remove: async () => {
      rmSync(dir, { recursive: true, force: true });
      await cluster.kubectl(['delete', 'clusterrolebinding,clusterrole', roleName, '--ignore-not-found']);
    },
  };
}

export interface ConditionJson {
  type: string;
  status: string;
  reason: string;
  message: string;
}

export class StackNamespace {
  readonly cluster: ClusterHandle;
  readonly namespace: string;

  constructor(cluster: ClusterHandle, namespace: string) {
    this.cluster = cluster;
    this.namespace = namespace;
  }

  async kubectl(args: string[], input?: string): Promise<string> {
    return (await this.cluster.kubectl(args, { namespace: this.namespace, ...(input ? { input } : {}) })).stdout;
  }

  /** Server-side apply as the test (in the object's namespace, default this one). */
  async apply(object: object): Promise<void> {
    const namespace = (object as { metadata?: { namespace?: string } }).metadata?.namespace;
    await this.cluster.kubectl(['apply', '--server-side', '--field-manager=tests', '-f', '-'], {
      namespace: namespace ?? this.namespace,
      input: JSON.stringify(object),
    });
  }

  async stack(name: string): Promise<ObservabilityStack | undefined> {
    const text = await this.kubectl(['get', 'observabilitystack', name, '-o', 'json', '--ignore-not-found']);
    return text.trim() ? (JSON.parse(text) as ObservabilityStack) : undefined;
  }

  async condition(name: string, type: string): Promise<ConditionJson | undefined> {
    const stack = await this.stack(name);
    return stack?.status?.conditions?.find((condition) => condition.type === type) as ConditionJson | undefined;
  }

  /** Waits until condition `type` has this status (and reason), for the current generation. */
  async waitForCondition(
    name: string,
    type: string,
    status: 'True' | 'False',
    reason?: string,
    timeoutMs = 60_000,
  ): Promise<ConditionJson> {
    return waitFor(
      `${this.namespace}/${name} ${type}=${status}${reason ? ` (${reason})` : ''}`,
      async () => {
        const stack = await this.stack(name);
        const condition = stack?.status?.conditions?.find((candidate) => candidate.type === type);
        if (!condition || condition.status !== status || (reason && condition.reason !== reason)) return undefined;
        if (stack?.status?.observedGeneration !== stack?.metadata.generation) return undefined;
        return condition as ConditionJson;
      },
      {
        timeoutMs,
        intervalMs: 200,
        describe: async () => JSON.stringify((await this.stack(name))?.status?.conditions ?? []),
      },
    );
  }

  /** Names of objects of `kind` in `namespace` (default this one), optionally by label selector. */
  async names(kind: string, options: { namespace?: string; selector?: string } = {}): Promise<string[]> {
    const args = ['get', kind, '-o', 'jsonpath={.items[*].metadata.name}'];
    if (options.selector) args.push('-l', options.selector);
    const stdout = (await this.cluster.kubectl(args, { namespace: options.namespace ?? this.namespace })).stdout;
    return stdout.split(/\s+/).filter(Boolean).sort();
  }

  async getJson<T>(kind: string, name: string, namespace = this.namespace): Promise<T> {
    return JSON.parse((await this.cluster.kubectl(['get', kind, name, '-o', 'json'], { namespace })).stdout) as T;
  }
}

/** `kubectl auth can-i VERB RESOURCE --as USER -n NAMESPACE`. */
export async function canI(
  cluster: ClusterHandle,
  user: string,
  verb: string,
  resource: string,
  namespace: string,
): Promise<boolean> {
  const result = await cluster.kubectl(['auth', 'can-i', verb, resource, `--as=${user}`], {
    namespace,
    allowFailure: true,
  });
  const answer = result.stdout.trim();
  if (answer !== 'yes' && answer !== 'no') throw new Error(`kubectl auth can-i: unexpected answer "${answer}"`);
  return answer === 'yes';
}

/** A stack's tracking-label selector. */
export function stackSelector(namespace: string, name: string): string {
  return `loadlm.dev/observabilitystack=${name},loadlm.dev/observabilitystack-namespace=${namespace}`;
}
