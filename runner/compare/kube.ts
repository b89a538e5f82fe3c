/**
 * LoadTests read from kube contexts, one LoadTest per context, through @kubernetes/client-node (loaded only
 * when a LoadTest is asked for: it is large). Each context gets its own KubeConfig, so credentials of one
 * context never authenticate a request to another.
 */
import { existsSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { badInput, type CompareError, unavailable } from './errors.ts';
import type { CompareInput } from './input.ts';
import { assertFinished, inputsFromLoadTest } from './loadtest-input.ts';
import { inputsFromDocument, type NormaliseOptions, reportOfConfigMap } from './report-input.ts';

export interface LoadTestQuery {
  /** Undefined: the kubeconfig's current context. */
  context?: string;
  /** Undefined: the context's namespace, else `default`. */
  namespace?: string;
  name: string;
}

export interface KubeOptions extends NormaliseOptions {
  /** Undefined: $KUBECONFIG, else ~/.kube/config (client-node's loadFromDefault). */
  kubeconfig?: string;
  requestTimeoutMs: number;
}

const group = 'loadlm.dev';
const version = 'v1alpha1';
const plural = 'loadtests';
const hint = "Run 'loadlm compare --help' for the options.";

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

interface ApiFailure {
  status?: number;
  reason?: string;
  message: string;
  /** details.name of a NotFound Status: set when the object itself is missing (not its API). */
  missingName?: string;
}

/** client-node's ApiException (code + JSON body text) or a network error → what the apiserver said. */
function apiFailure(error: unknown): ApiFailure {
  const e = error as { code?: unknown; body?: unknown; message?: string; cause?: { code?: string; message?: string } };
  if (typeof e.code === 'number') {
    let status: Obj = {};
    try {
      const parsed = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
      if (isObject(parsed)) status = parsed;
    } catch {
      // Not a Status object (e.g. an HTML error page from a proxy).
    }
    const details = isObject(status.details) ? status.details : {};
    const failure: ApiFailure = {
      status: e.code,
      message: typeof status.message === 'string' ? status.message : `HTTP ${e.code}`,
    };
    if (typeof status.reason === 'string') failure.reason = status.reason;
    if (typeof details.name === 'string') failure.missingName = details.name;
    return failure;
  }
  const cause = e.cause?.code ?? e.cause?.message;
  return { message: `${e.message ?? String(error)}${cause && !e.message?.includes(cause) ? ` (${cause})` : ''}` };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000}s (--request-timeout)`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function kubeconfigDescription(path: string | undefined): string {
  if (path) return path;
  return process.env.KUBECONFIG ? `$KUBECONFIG (${process.env.KUBECONFIG})` : '~/.kube/config';
}

/** The kubeconfig as given, and a KubeConfig limited to one of its contexts. */
export async function loadKubeConfig(path: string | undefined): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (path !== undefined) {
    if (!existsSync(path)) throw badInput(`--kubeconfig ${path}: file not found`, hint);
    try {
      kc.loadFromFile(path);
    } catch (error) {
      throw badInput(`--kubeconfig ${path}: not a usable kubeconfig: ${(error as Error).message}`, hint);
    }
  } else {
    try {
      kc.loadFromDefault();
    } catch (error) {
      throw badInput(`${kubeconfigDescription(path)}: not a usable kubeconfig: ${(error as Error).message}`, hint);
    }
  }
  return kc;
}

export async function forContext(base: KubeConfig, context: string, kubeconfig: string | undefined) {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const where = kubeconfigDescription(kubeconfig);
  const ctx = base.getContextObject(context);
  if (!ctx) {
    const names = base.getContexts().map((c) => c.name);
    throw badInput(
      `--context ${context}: no such context in ${where} (it has ${names.length > 0 ? names.join(', ') : 'no contexts'})`,
      hint,
    );
  }
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: base.clusters, users: base.users, contexts: base.contexts, currentContext: context });
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw badInput(`--context ${context}: its cluster ${ctx.cluster} is not defined in ${where}`, hint);
  return { kc, namespace: ctx.namespace, server: cluster.server };
}

async function readOne(base: KubeConfig, query: LoadTestQuery, options: KubeOptions): Promise<CompareInput[]> {
  const { CoreV1Api, CustomObjectsApi } = await import('@kubernetes/client-node');
  const contextName = query.context ?? base.getCurrentContext();
  if (!contextName) {
    throw badInput(`${kubeconfigDescription(options.kubeconfig)} has no current context: pass --context`, hint);
  }
  const { kc, namespace: contextNamespace, server } = await forContext(base, contextName, options.kubeconfig);
  const namespace = query.namespace ?? contextNamespace ?? 'default';
  const ref = `LoadTest ${namespace}/${query.name}`;
  const from = { source: `context ${contextName}: ${ref}`, sourceShort: contextName };
  const timeout = options.requestTimeoutMs;
  const failed = (what: string, error: unknown): CompareError => {
    const f = apiFailure(error);
    if (f.status === undefined)
      return unavailable(`${from.source}: cannot reach the API server at ${server}: ${f.message}`);
    if (f.status === 401 || f.status === 403) {
      return unavailable(`${from.source}: not allowed to read ${what} (HTTP ${f.status}: ${f.message})`);
    }
    return unavailable(
      `${from.source}: cannot read ${what} (HTTP ${f.status}${f.reason ? ` ${f.reason}` : ''}: ${f.message})`,
    );
  };

  let lt: Obj;
  try {
    const custom = kc.makeApiClient(CustomObjectsApi);
    lt = (await withTimeout(
      custom.getNamespacedCustomObject({ group, version, namespace, plural, name: query.name }),
      timeout,
      `${from.source}: reading the LoadTest`,
    )) as Obj;
  } catch (error) {
    const f = apiFailure(error);
    if (f.status === 404 && f.missingName === query.name) {
      throw badInput(`${from.source}: not found (no LoadTest ${query.name} in namespace ${namespace})`);
    }
    if (f.status === 404) {
      throw unavailable(
        `${from.source}: the LoadTest API (${group}/${version}) is not installed in context ${contextName} (${server})`,
      );
    }
    if (error instanceof Error && error.message.includes('--request-timeout')) throw unavailable(error.message);
    throw failed('the LoadTest', error);
  }
  assertFinished(lt, from);

  const status = isObject(lt.status) ? lt.status : {};
  const reportRef = isObject(status.reportRef) ? status.reportRef : undefined;
  const reportName = typeof reportRef?.name === 'string' ? reportRef.name : undefined;
  if (!reportName) return inputsFromLoadTest(lt, undefined, from, 'status.reportRef is not set');
  let cm: Obj;
  try {
    const core = kc.makeApiClient(CoreV1Api);
    cm = (await withTimeout(
      core.readNamespacedConfigMap({ name: reportName, namespace }),
      timeout,
      `${from.source}: reading ConfigMap ${reportName}`,
    )) as unknown as Obj;
  } catch (error) {
    const f = apiFailure(error);
    if (f.status === 404) return inputsFromLoadTest(lt, undefined, from, `its report ConfigMap ${reportName} is gone`);
    if (error instanceof Error && error.message.includes('--request-timeout')) throw unavailable(error.message);
    throw failed(`the report ConfigMap ${reportName}`, error);
  }
  const report = reportOfConfigMap({ ...cm, kind: 'ConfigMap' }, from);
  return inputsFromLoadTest(lt, inputsFromDocument(report, from, options), from);
}

/** One LoadTest per query, read concurrently; the first failure in query order is thrown. */
export async function readLoadTestInputs(queries: LoadTestQuery[], options: KubeOptions): Promise<CompareInput[]> {
  if (queries.length === 0) return [];
  const base = await loadKubeConfig(options.kubeconfig);
  const results = await Promise.allSettled(queries.map((q) => readOne(base, q, options)));
  const out: CompareInput[] = [];
  for (const r of results) {
    if (r.status === 'rejected') throw r.reason;
    out.push(...r.value);
  }
  return out;
}
