/**
 * The ObservabilityStack reconcile: level-based. Each pass renders the whole desired state from the spec (pure
 * functions in desired/), applies what differs from the caches with server-side apply, deletes the stack's
 * objects that are no longer desired (found by tracking labels, in any namespace), and writes status only when it
 * changed — a pass with nothing to do makes no writes. Secrets are the exception to the caches: they are read,
 * applied and deleted by name (owned-secrets.ts), so the operator never lists or watches Secrets.
 *
 * Parts, each with its condition: ServiceMonitors and the PrometheusRule (prometheus-operator's kinds, which may
 * be missing: PrometheusOperatorNotInstalled, looked up again every `retryAfterMs`), and Grafana in one of three
 * modes. The finalizer removes everything the stack created elsewhere (other namespaces, Grafana objects) before
 * the stack goes; same-namespace objects also have an ownerReference.
 */
import {
  type GrafanaObject,
  type ManagedObject,
  type ObservabilityStack,
  ObservabilityStackSpec,
} from '../../api/observabilitystack.ts';
import { ApiError, isConflict, isInvalid, isNotFound } from '../runtime/api-error.ts';
import type { Applier } from '../runtime/apply.ts';
import type { Condition } from '../runtime/conditions.ts';
import type { ReconcileContext, ReconcileResult } from '../runtime/controller.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { Informer } from '../runtime/informer.ts';
import type { KubeClient } from '../runtime/kube-client.ts';
import { type KubeObject, type ResourceType, resources } from '../runtime/resources.ts';
import { allParts, conditionChanges, type PartOutcome, type PartOutcomes, stackConditions } from './conditions.ts';
import {
  type DatasourcePlan,
  datasourceModels,
  duplicateUids,
  effectiveAlerts,
  grafanaOperatorNamespace,
  monitoringNamespace,
  type Prometheus,
  planDatasources,
  planGrafanaContent,
  type ResolvedCredentials,
  renderGrafanaOperatorObjects,
  renderPrometheusRule,
  renderServiceMonitors,
  renderSidecarDashboards,
  renderSidecarDatasourceSecret,
  ruleSelectionLabels,
  sidecarNamespace,
  stackFinalizer,
  stackResources,
  trackedStackKey,
} from './desired/index.ts';
import {
  deleteGrafanaObjects,
  type GrafanaApiFactory,
  type GrafanaAuth,
  grafanaErrorReason,
  syncGrafana,
} from './grafana-api-mode.ts';
import type { KindSet, OptionalKinds } from './optional-kinds.ts';
import {
  deleteOwnedSecrets,
  type OwnedSecretsContext,
  recordedOwnedSecrets,
  type SecretLocation,
  secretManagedObjects,
  syncOwnedSecrets,
} from './owned-secrets.ts';
import { needsNamespaceLabels, type SelectedKind, selectionReport } from './selection.ts';

export const prometheusOperatorKinds: KindSet = {
  group: 'monitoring.coreos.com',
  version: 'v1',
  owned: [stackResources.serviceMonitors, stackResources.prometheusRules],
  read: [stackResources.prometheuses],
};

export const grafanaOperatorKinds: KindSet = {
  group: 'grafana.integreatly.org',
  version: 'v1beta1',
  owned: [stackResources.grafanaDatasources, stackResources.grafanaDashboards],
  read: [],
};

/** Lets a stack go although its Grafana objects cannot be deleted (Grafana gone for good, credentials deleted). */
export const skipGrafanaCleanupAnnotation = 'loadlm.dev/skip-grafana-cleanup';

/** No Secrets: see owned-secrets.ts. */
export interface StackCaches {
  stacks: Informer<ObservabilityStack>;
  configMaps: Informer;
}

export interface StackReconcilerOptions {
  caches: StackCaches;
  optional: OptionalKinds;
  client: KubeClient;
  applier: Applier;
  events: EventRecorder;
  /** Namespaces the operator watches; empty: all. Objects must go to watched namespaces (the caches see only those). */
  watchedNamespaces: readonly string[];
  grafanaApi: GrafanaApiFactory;
  /** How soon a stack waiting for something outside (a CRD, a Secret, Grafana) is looked at again; default 30 s. */
  retryAfterMs?: number;
  /** How often Grafana (mode api) is checked for drift; default 5 min. */
  grafanaResyncMs?: number;
  now?: () => number;
}

/** What one pass did, besides the conditions. */
interface Pass {
  stack: ObservabilityStack;
  key: string;
  signal: AbortSignal;
  /** What this pass applied, except Secrets. */
  managed: ManagedObject[];
  /**
   * The stack's Secrets that may exist, by namespace/name: those recorded in status until this pass has synced
   * them (then what it applied, plus any it failed to delete).
   */
  secrets: Map<string, SecretLocation>;
  /** A Kubernetes write failed: retry with backoff. */
  failed: boolean;
  /** Waiting on something outside: look again after retryAfterMs. */
  waiting: boolean;
}

export function observabilityStackReconciler(options: StackReconcilerOptions) {
  const now = options.now ?? Date.now;
  const retryAfterMs = options.retryAfterMs ?? 30_000;
  const grafanaResyncMs = options.grafanaResyncMs ?? 300_000;

  return async function reconcile(context: ReconcileContext): Promise<ReconcileResult> {
    const { namespace, name, log, signal } = context;
    const cached = options.caches.stacks.get(namespace, name);
    if (!cached) return undefined;
    if (cached.metadata.deletionTimestamp) return finalize(options, cached, context, retryAfterMs);

    const parsed = ObservabilityStackSpec.safeParse(cached.spec);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const message = `spec.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`;
      await writeStatus(
        options,
        cached,
        allParts({ ok: false, reason: 'InvalidSpec', message }),
        undefined,
        now(),
        signal,
      );
      return undefined;
    }
    const stack = { ...(structuredClone(cached) as ObservabilityStack), spec: parsed.data };
    if (!finalizersOf(cached).includes(stackFinalizer)) await addFinalizer(options, cached, signal);

    const secrets = new Map(
      recordedOwnedSecrets(stack).map((secret) => [`${secret.namespace}/${secret.name}`, secret]),
    );
    const pass: Pass = {
      stack,
      key: `${namespace}/${name}`,
      signal,
      managed: [],
      secrets,
      failed: false,
      waiting: false,
    };
    const prometheusOperator = await options.optional.state(prometheusOperatorKinds, signal);
    const serviceMonitors = await guarded(pass, () => reconcileServiceMonitors(options, pass, prometheusOperator));
    const alerts = await guarded(pass, () => reconcileAlerts(options, pass, prometheusOperator));
    const grafana = await guardedGrafana(pass, () => reconcileGrafana(options, pass));
    const parts = { serviceMonitors, alerts, grafana: grafana.outcome };
    const changed = await writeStatus(
      options,
      cached,
      parts,
      { managed: [...pass.managed, ...secretManagedObjects(pass.secrets.values())], grafana: grafana.objects },
      now(),
      signal,
    );
    if (changed) log.debug('status updated');

    if (pass.failed) return { requeue: true };
    if (pass.waiting) return { requeueAfterMs: retryAfterMs };
    if (stack.spec.grafana?.mode === 'api') return { requeueAfterMs: grafanaResyncMs };
    return undefined;
  };
}

// ------------------------------------------------------------------------------------------------ parts

type PrometheusOperatorState = Awaited<ReturnType<OptionalKinds['state']>>;

const notInstalled = (missing: string[]): PartOutcome => ({
  ok: false,
  reason: 'PrometheusOperatorNotInstalled',
  message:
    `the CRDs ${missing.join(', ')} are not installed: install prometheus-operator (e.g. kube-prometheus-stack); ` +
    'this stack is picked up again once they are',
});

async function reconcileServiceMonitors(
  options: StackReconcilerOptions,
  pass: Pass,
  state: PrometheusOperatorState,
): Promise<PartOutcome> {
  const desired = renderServiceMonitors(pass.stack, { watchedNamespaces: options.watchedNamespaces });
  if (!state.installed) {
    if (desired.length === 0) return { ok: true, reason: 'NothingToScrape', message: 'no scrape targets configured' };
    pass.waiting = true;
    return notInstalled(state.missing);
  }
  const namespace = monitoringNamespace(pass.stack);
  const unwatched = unwatchedNamespace(options, namespace, 'prometheus.namespace');
  if (unwatched && desired.length > 0) return unwatched;
  const informer = requireInformer(state, stackResources.serviceMonitors);
  await applyAndPrune(options, pass, stackResources.serviceMonitors, informer, desired);
  if (desired.length === 0) return { ok: true, reason: 'NothingToScrape', message: 'no scrape targets configured' };
  const labels = desired[0]?.metadata.labels ?? {};
  const what = `${desired.length} ServiceMonitor(s) in ${namespace}`;
  return checkSelection(options, pass, state, 'serviceMonitor', { namespace, labels }, what);
}

async function reconcileAlerts(
  options: StackReconcilerOptions,
  pass: Pass,
  state: PrometheusOperatorState,
): Promise<PartOutcome> {
  const rule = renderPrometheusRule(pass.stack);
  if (!state.installed) {
    if (!rule) return { ok: true, reason: 'Disabled', message: 'alerts are disabled' };
    pass.waiting = true;
    return notInstalled(state.missing);
  }
  const namespace = monitoringNamespace(pass.stack);
  const unwatched = unwatchedNamespace(options, namespace, 'prometheus.namespace');
  if (unwatched && rule) return unwatched;
  const informer = requireInformer(state, stackResources.prometheusRules);
  await applyAndPrune(options, pass, stackResources.prometheusRules, informer, rule ? [rule] : []);
  if (!rule) return { ok: true, reason: 'Disabled', message: 'alerts are disabled' };
  const labels = { ...ruleSelectionLabels(pass.stack), ...rule.metadata.labels };
  const alerts = effectiveAlerts(pass.stack);
  const what =
    `PrometheusRule ${namespace}/${rule.metadata.name} (TTFT p95 > ${alerts.ttftP95Milliseconds}ms, errors > ` +
    `${alerts.errorRatePercent}%, GPU memory > ${alerts.gpuMemoryPercent}%)`;
  return checkSelection(options, pass, state, 'rule', { namespace, labels }, what);
}

async function checkSelection(
  options: StackReconcilerOptions,
  pass: Pass,
  state: Extract<PrometheusOperatorState, { installed: true }>,
  kind: SelectedKind,
  candidate: { namespace: string; labels: Record<string, string> },
  what: string,
): Promise<PartOutcome> {
  const informer = requireInformer(state, stackResources.prometheuses);
  const ref = pass.stack.spec.prometheus.prometheusRef;
  let prometheuses = informer.list() as Readonly<Prometheus>[];
  if (ref) {
    const refNamespace = ref.namespace ?? pass.stack.metadata.namespace ?? '';
    const unwatched = unwatchedNamespace(options, refNamespace, 'prometheus.prometheusRef.namespace');
    if (unwatched) return unwatched;
    const found = informer.get(refNamespace, ref.name) as Readonly<Prometheus> | undefined;
    if (!found) {
      return {
        ok: false,
        reason: 'PrometheusNotFound',
        message: `${what} applied, but Prometheus ${refNamespace}/${ref.name} (prometheus.prometheusRef) does not exist`,
      };
    }
    prometheuses = [found];
  }
  if (prometheuses.length === 0) {
    return { ok: true, reason: 'Applied', message: `${what} applied; no Prometheus object found to check selection` };
  }
  // A namespace's labels are read only when a namespace selector needs them (RBAC: get namespaces).
  const namespace = prometheuses.some((prometheus) => needsNamespaceLabels(prometheus, kind))
    ? await options.client.getIfExists<KubeObject>(resources.namespaces, undefined, candidate.namespace)
    : undefined;
  const report = selectionReport(prometheuses, kind, candidate, namespace?.metadata?.labels ?? {});
  if (report.selectedBy.length > 0) {
    return { ok: true, reason: 'Selected', message: `${what} selected by Prometheus ${report.selectedBy.join(', ')}` };
  }
  const field = kind === 'serviceMonitor' ? 'serviceMonitorLabels' : 'ruleLabels';
  return {
    ok: false,
    reason: 'NoMatchingPrometheus',
    message:
      `${what} applied but no Prometheus selects them: ${report.rejections.join('; ')}. Set prometheus.${field} ` +
      'to labels that Prometheus selects (kube-prometheus-stack: release: <helm release>)',
  };
}

interface GrafanaPart {
  outcome: PartOutcome;
  objects: GrafanaObject[] | undefined;
}

async function reconcileGrafana(options: StackReconcilerOptions, pass: Pass): Promise<GrafanaPart> {
  const grafana = pass.stack.spec.grafana;
  const recorded = pass.stack.status?.grafanaObjects ?? [];
  const mode = grafana?.mode;
  let objects: GrafanaObject[] | undefined = recorded.length > 0 ? recorded : undefined;
  if (mode !== 'api' && recorded.length > 0) {
    // Without api settings there is no Grafana to delete them from.
    options.events.event(
      pass.stack,
      'Warning',
      'GrafanaObjectsOrphaned',
      `left ${recorded.length} object(s) in Grafana after leaving mode api: delete them there by uid ` +
        `(${recorded.map((object) => object.uid).join(', ')})`,
    );
    objects = undefined;
  }
  // Objects of the modes not in use go (e.g. after a mode change).
  const desired = {
    secrets: [] as KubeObject[],
    configMaps: [] as KubeObject[],
    datasources: [] as KubeObject[],
    dashboards: [] as KubeObject[],
  };
  const prune = async () => {
    await syncOwnedSecrets(secretsContext(options, pass.signal), pass.stack, desired.secrets, pass.secrets);
    await applyAndPrune(options, pass, resources.configMaps, options.caches.configMaps, desired.configMaps);
    // Also when this mode is not operator: a GrafanaDatasource from an earlier mode must go.
    const grafanaOperator = await options.optional.state(grafanaOperatorKinds, pass.signal);
    if (!grafanaOperator.installed) return;
    for (const [kind, list] of [
      [stackResources.grafanaDatasources, desired.datasources],
      [stackResources.grafanaDashboards, desired.dashboards],
    ] as const) {
      await applyAndPrune(options, pass, kind, requireInformer(grafanaOperator, kind), list);
    }
  };
  if (!grafana) {
    await prune();
    return { outcome: { ok: true, reason: 'NotConfigured', message: 'no Grafana configured' }, objects };
  }

  const plans = planDatasources(pass.stack);
  const duplicates = duplicateUids(plans);
  if (duplicates.length > 0) {
    return {
      outcome: {
        ok: false,
        reason: 'DuplicateDatasourceUid',
        message: `datasources share the uid ${duplicates.join(', ')}: set grafana.datasources[].uid to tell them apart`,
      },
      objects,
    };
  }
  const resolved = await resolveCredentials(options, pass, plans);
  if ('problem' in resolved) {
    pass.waiting = true;
    return { outcome: resolved.problem, objects };
  }
  const content = planGrafanaContent(pass.stack);

  if (mode === 'sidecar') {
    const namespace = sidecarNamespace(pass.stack);
    const unwatched = unwatchedNamespace(options, namespace, 'grafana.sidecar.namespace');
    if (unwatched) return { outcome: unwatched, objects };
    const secret = renderSidecarDatasourceSecret(pass.stack, datasourceModels(plans, resolved.credentials));
    if (secret) desired.secrets.push(secret);
    desired.configMaps.push(...renderSidecarDashboards(pass.stack, content));
    await prune();
    return {
      outcome: {
        ok: true,
        reason: 'Provisioned',
        message:
          `${plans.length} datasource(s) in Secret ${secret ? `${namespace}/${secret.metadata.name}` : '(none)'} and ` +
          `${content.dashboards.length} dashboard ConfigMap(s) in ${namespace} for the Grafana sidecar`,
      },
      objects,
    };
  }

  if (mode === 'operator') {
    const state = await options.optional.state(grafanaOperatorKinds, pass.signal);
    if (!state.installed) {
      await prune();
      pass.waiting = true;
      return {
        outcome: {
          ok: false,
          reason: 'GrafanaOperatorNotInstalled',
          message: `the CRDs ${state.missing.join(', ')} are not installed: install grafana-operator v5, or use another grafana.mode`,
        },
        objects,
      };
    }
    const namespace = grafanaOperatorNamespace(pass.stack);
    const unwatched = unwatchedNamespace(options, namespace, 'grafana.operator.namespace');
    if (unwatched) return { outcome: unwatched, objects };
    const rendered = renderGrafanaOperatorObjects(pass.stack, plans, resolved.credentials, content);
    if (rendered.credentials) desired.secrets.push(rendered.credentials);
    desired.datasources.push(...rendered.datasources);
    desired.dashboards.push(...rendered.dashboards);
    // Credentials first: a GrafanaDatasource's valuesFrom refers to them.
    await prune();
    return {
      outcome: {
        ok: true,
        reason: 'Provisioned',
        message: `${rendered.datasources.length} GrafanaDatasource(s) and ${rendered.dashboards.length} GrafanaDashboard(s) in ${namespace}`,
      },
      objects,
    };
  }

  // mode api
  await prune();
  const api = grafana.api;
  if (!api) return { outcome: { ok: false, reason: 'InvalidSpec', message: 'grafana.api is required' }, objects };
  const auth = await readGrafanaAuth(options, pass.stack);
  if ('problem' in auth) {
    pass.waiting = true;
    return { outcome: auth.problem, objects };
  }
  const client = options.grafanaApi({ url: api.url, auth: auth.auth, ...(api.orgId ? { orgId: api.orgId } : {}) });
  const result = await syncGrafana(
    client,
    { datasources: datasourceModels(plans, resolved.credentials), content },
    objects ?? [],
  );
  objects = result.objects.length > 0 ? result.objects : undefined;
  if (result.error !== undefined) {
    pass.waiting = true;
    const reason = grafanaErrorReason(result.error);
    if (!reason) throw result.error;
    return { outcome: { ok: false, reason, message: `${api.url}: ${errorMessage(result.error)}` }, objects };
  }
  const { created, updated, deleted } = result.changed;
  return {
    outcome: {
      ok: true,
      reason: 'Provisioned',
      message:
        `${plans.length} datasource(s) and ${content.dashboards.length} dashboard(s) in ${api.url}` +
        (created + updated + deleted > 0
          ? ` (last pass: ${created} created, ${updated} updated, ${deleted} deleted)`
          : ''),
    },
    objects,
  };
}

// --------------------------------------------------------------------------------------- apply and prune

/**
 * Applies each desired object unless the cache shows it already matches, then deletes this stack's objects of
 * the kind (by tracking labels, any namespace in the cache) that are not desired. Not for Secrets
 * (owned-secrets.ts).
 */
async function applyAndPrune(
  options: StackReconcilerOptions,
  pass: Pass,
  resource: ResourceType,
  informer: Informer,
  desired: readonly KubeObject[],
): Promise<void> {
  const wanted = new Set<string>();
  for (const object of desired) {
    const namespace = object.metadata?.namespace ?? '';
    const name = object.metadata?.name ?? '';
    wanted.add(`${namespace}/${name}`);
    const current = informer.get(namespace, name);
    await options.applier.applyIfChanged(resource, object, current, {
      signal: pass.signal,
      cachedAs: informer.transform,
    });
    pass.managed.push({
      apiVersion: object.apiVersion ?? '',
      kind: object.kind ?? resource.kind,
      namespace,
      name,
    });
  }
  for (const object of informer.list()) {
    if (trackedStackKey(object.metadata?.labels) !== pass.key) continue;
    const namespace = object.metadata?.namespace ?? '';
    const name = object.metadata?.name ?? '';
    if (wanted.has(`${namespace}/${name}`)) continue;
    await options.client.delete(resource, namespace, name, { signal: pass.signal });
  }
}

function secretsContext(options: StackReconcilerOptions, signal: AbortSignal): OwnedSecretsContext {
  return { client: options.client, applier: options.applier, watchedNamespaces: options.watchedNamespaces, signal };
}

// ------------------------------------------------------------------------------------------------ inputs

function unwatchedNamespace(
  options: StackReconcilerOptions,
  namespace: string,
  field: string,
): PartOutcome | undefined {
  const watched = options.watchedNamespaces;
  if (watched.length === 0 || watched.includes(namespace)) return undefined;
  return {
    ok: false,
    reason: 'NamespaceNotWatched',
    message: `${field} is ${namespace}, which the operator does not watch (--namespaces ${watched.join(',')}): add it there`,
  };
}

function requireInformer(state: { installed: true; informers: ReadonlyMap<string, Informer> }, kind: ResourceType) {
  const informer = state.informers.get(kind.plural);
  if (!informer) throw new Error(`no informer for ${kind.plural}`);
  return informer;
}

type Resolved<T> = T | { problem: PartOutcome };

interface SecretRead {
  name: string;
  keys: string[];
  field: string;
}

/** Reads Secret keys in the stack's namespace; values stay in memory only. */
async function readSecretKeys(
  options: StackReconcilerOptions,
  stack: ObservabilityStack,
  read: SecretRead,
): Promise<Resolved<{ values: string[] }>> {
  const namespace = stack.metadata.namespace ?? '';
  const secret = await options.client.getIfExists<KubeObject & { data?: Record<string, string> }>(
    resources.secrets,
    namespace,
    read.name,
  );
  if (!secret) {
    return {
      problem: {
        ok: false,
        reason: 'SecretNotFound',
        message: `Secret ${namespace}/${read.name} (${read.field}) does not exist`,
      },
    };
  }
  const values: string[] = [];
  for (const key of read.keys) {
    const encoded = secret.data?.[key];
    if (encoded === undefined) {
      return {
        problem: {
          ok: false,
          reason: 'SecretKeyNotFound',
          message: `Secret ${namespace}/${read.name} (${read.field}) has no key "${key}"`,
        },
      };
    }
    values.push(Buffer.from(encoded, 'base64').toString('utf8'));
  }
  return { values };
}

async function readCredentials(
  options: StackReconcilerOptions,
  stack: ObservabilityStack,
  ref: {
    name: string;
    tokenKey?: string | undefined;
    usernameKey?: string | undefined;
    passwordKey?: string | undefined;
  },
  field: string,
): Promise<Resolved<{ credentials: ResolvedCredentials }>> {
  if (ref.tokenKey !== undefined) {
    const read = await readSecretKeys(options, stack, { name: ref.name, keys: [ref.tokenKey], field });
    if ('problem' in read) return read;
    return { credentials: { token: read.values[0] ?? '' } };
  }
  const read = await readSecretKeys(options, stack, {
    name: ref.name,
    keys: [ref.usernameKey ?? '', ref.passwordKey ?? ''],
    field,
  });
  if ('problem' in read) return read;
  return { credentials: { username: read.values[0] ?? '', password: read.values[1] ?? '' } };
}

async function resolveCredentials(
  options: StackReconcilerOptions,
  pass: Pass,
  plans: readonly DatasourcePlan[],
): Promise<Resolved<{ credentials: Map<string, ResolvedCredentials> }>> {
  const credentials = new Map<string, ResolvedCredentials>();
  for (const plan of plans) {
    if (!plan.auth) continue;
    const read = await readCredentials(
      options,
      pass.stack,
      plan.auth,
      `grafana.datasources[${plan.name}].authSecretRef`,
    );
    if ('problem' in read) return read;
    credentials.set(plan.uid, read.credentials);
  }
  return { credentials };
}

async function readGrafanaAuth(
  options: StackReconcilerOptions,
  stack: ObservabilityStack,
): Promise<Resolved<{ auth: GrafanaAuth }>> {
  const ref = stack.spec.grafana?.api?.credentialsSecretRef;
  if (!ref)
    return { problem: { ok: false, reason: 'InvalidSpec', message: 'grafana.api.credentialsSecretRef is required' } };
  const read = await readCredentials(options, stack, ref, 'grafana.api.credentialsSecretRef');
  if ('problem' in read) return read;
  return { auth: read.credentials };
}

// ------------------------------------------------------------------------------------------ status, events

async function writeStatus(
  options: StackReconcilerOptions,
  cached: Readonly<ObservabilityStack>,
  parts: PartOutcomes,
  objects: { managed: ManagedObject[]; grafana: GrafanaObject[] | undefined } | undefined,
  now: number,
  signal: AbortSignal,
): Promise<boolean> {
  const before: readonly Condition[] = cached.status?.conditions ?? [];
  const generation = cached.metadata.generation;
  const conditions = stackConditions(before, parts, generation, now);
  const status: NonNullable<ObservabilityStack['status']> = {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions,
  };
  const managed = objects ? objects.managed : (cached.status?.managedObjects ?? []);
  if (managed.length > 0) status.managedObjects = sortManaged(managed).slice(0, 256);
  const grafana = objects ? objects.grafana : cached.status?.grafanaObjects;
  if (grafana && grafana.length > 0) status.grafanaObjects = grafana.slice(0, 128);
  const result = await options.applier.applyStatusIfChanged(resources.observabilityStacks, cached, status, { signal });
  const changes = conditionChanges(before, conditions);
  for (const change of changes) {
    // Ready False repeats a part's reason: the part's own Event says it.
    if (
      change.type === 'Ready' &&
      change.eventType === 'Warning' &&
      changes.some((other) => other !== change && other.reason === change.reason)
    ) {
      continue;
    }
    options.events.event(cached, change.eventType, change.reason, change.message);
  }
  return result.changed;
}

function sortManaged(objects: readonly ManagedObject[]): ManagedObject[] {
  const key = (object: ManagedObject) => `${object.kind}/${object.namespace ?? ''}/${object.name}`;
  return [...objects].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Runs one part; a Kubernetes API error becomes the part's condition and a retry with backoff. */
async function guarded(pass: Pass, part: () => Promise<PartOutcome>): Promise<PartOutcome> {
  try {
    return await part();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    pass.failed = true;
    return { ok: false, reason: apiErrorReason(error), message: errorMessage(error) };
  }
}

async function guardedGrafana(pass: Pass, part: () => Promise<GrafanaPart>): Promise<GrafanaPart> {
  try {
    return await part();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    pass.failed = true;
    return {
      outcome: { ok: false, reason: apiErrorReason(error), message: errorMessage(error) },
      objects: pass.stack.status?.grafanaObjects,
    };
  }
}

function apiErrorReason(error: ApiError): string {
  if (isInvalid(error)) return 'ObjectRejected';
  if (isConflict(error)) return 'Conflict';
  if (error.status === 403) return 'Forbidden';
  return 'ApplyFailed';
}

function errorMessage(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 1000);
}

// ------------------------------------------------------------------------------------------- finalizer

async function addFinalizer(options: StackReconcilerOptions, stack: Readonly<ObservabilityStack>, signal: AbortSignal) {
  const finalizers = [...finalizersOf(stack), stackFinalizer];
  await options.client.patch(
    resources.observabilityStacks,
    stack.metadata.namespace,
    stack.metadata.name ?? '',
    { metadata: { resourceVersion: stack.metadata.resourceVersion, finalizers } },
    'merge',
    { fieldManager: options.applier.fieldManager, signal },
  );
}

/** Deletes everything the stack created (any namespace, and Grafana in mode api), then drops the finalizer. */
async function finalize(
  options: StackReconcilerOptions,
  stack: Readonly<ObservabilityStack>,
  context: ReconcileContext,
  retryAfterMs: number,
): Promise<ReconcileResult> {
  const { signal, log } = context;
  if (!finalizersOf(stack).includes(stackFinalizer)) return undefined;
  const key = `${stack.metadata.namespace}/${stack.metadata.name}`;
  const kinds: [ResourceType, Informer | undefined][] = [[resources.configMaps, options.caches.configMaps]];
  // Looked up (not just taken from earlier passes): after a restart the first pass may be this one.
  for (const set of [prometheusOperatorKinds, grafanaOperatorKinds]) {
    const state = await options.optional.state(set, signal);
    if (state.installed) for (const kind of set.owned) kinds.push([kind, state.informers.get(kind.plural)]);
  }
  // Secrets by name: the recorded ones and those the spec could have made (an invalid spec: its namespace's).
  const parsedSpec = ObservabilityStackSpec.safeParse(stack.spec);
  const secretsOf = { ...stack, spec: parsedSpec.success ? parsedSpec.data : {} } as ObservabilityStack;
  let deleted = await deleteOwnedSecrets(secretsContext(options, signal), secretsOf);
  for (const [resource, informer] of kinds) {
    for (const object of informer?.list() ?? []) {
      if (trackedStackKey(object.metadata?.labels) !== key) continue;
      if (await options.client.delete(resource, object.metadata?.namespace, object.metadata?.name ?? '', { signal })) {
        deleted++;
      }
    }
  }
  const recorded = stack.status?.grafanaObjects ?? [];
  const skip = stack.metadata.annotations?.[skipGrafanaCleanupAnnotation] === 'true';
  const api = stack.spec.grafana?.mode === 'api' ? stack.spec.grafana.api : undefined;
  if (recorded.length > 0 && api && !skip) {
    const auth = parsedSpec.success
      ? await readGrafanaAuth(options, secretsOf)
      : { problem: { ok: false, reason: 'InvalidSpec', message: 'invalid spec' } };
    let problem: PartOutcome | undefined;
    let left = recorded;
    if ('problem' in auth) {
      problem = auth.problem;
    } else {
      const client = options.grafanaApi({ url: api.url, auth: auth.auth, ...(api.orgId ? { orgId: api.orgId } : {}) });
      const result = await deleteGrafanaObjects(client, recorded);
      left = result.left;
      if (result.error !== undefined) {
        const reason = grafanaErrorReason(result.error);
        if (!reason) throw result.error;
        problem = { ok: false, reason, message: `${api.url}: ${errorMessage(result.error)}` };
      }
    }
    if (problem) {
      const message =
        `cannot delete ${left.length} object(s) from Grafana before the stack goes: ${problem.message}. Fix it, or ` +
        `annotate the stack with ${skipGrafanaCleanupAnnotation}=true to leave them there`;
      const previous = stack.status?.conditions;
      const parts: PartOutcomes = {
        serviceMonitors: outcomeOf(previous, 'ServiceMonitorsReady'),
        alerts: outcomeOf(previous, 'AlertsReady'),
        grafana: { ok: false, reason: problem.reason, message },
      };
      await writeStatus(options, stack, parts, { managed: [], grafana: left }, (options.now ?? Date.now)(), signal);
      return { requeueAfterMs: retryAfterMs };
    }
  }
  const finalizers = finalizersOf(stack).filter((finalizer) => finalizer !== stackFinalizer);
  try {
    await options.client.patch(
      resources.observabilityStacks,
      stack.metadata.namespace,
      stack.metadata.name ?? '',
      [
        { op: 'test', path: '/metadata/resourceVersion', value: stack.metadata.resourceVersion },
        { op: 'replace', path: '/metadata/finalizers', value: finalizers },
      ],
      'json',
      { fieldManager: options.applier.fieldManager, signal },
    );
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  log.info({ deleted, grafanaObjects: skip ? 0 : recorded.length }, 'cleaned up; finalizer removed');
  return undefined;
}

function finalizersOf(stack: Readonly<ObservabilityStack>): string[] {
  const finalizers = (stack.metadata as { finalizers?: unknown }).finalizers;
  return Array.isArray(finalizers) ? finalizers.filter((item): item is string => typeof item === 'string') : [];
}

function outcomeOf(conditions: readonly Condition[] | undefined, type: string): PartOutcome {
  const condition = conditions?.find((candidate) => candidate.type === type);
  return condition
    ? { ok: condition.status === 'True', reason: condition.reason, message: condition.message }
    : { ok: false, reason: 'Deleting', message: 'the stack is being deleted' };
}
