/**
 * The three ConfigMap calls a runner makes, on the Kubernetes REST API: server-side apply of its result, and a
 * name-filtered list + watch of the start signal. Credentials come from a client-node KubeConfig (in a pod:
 * `loadFromDefault()`, which reads $KUBECONFIG or the in-cluster ServiceAccount). Bodies stay raw JSON.
 *
 * List and watch always carry `fieldSelector=metadata.name=<name>`: RBAC allows list/watch restricted by
 * resourceNames only for such requests, so the runner's Role can name the one ConfigMap it may read.
 */
import { HttpMethod, type KubeConfig, RequestContext } from '@kubernetes/client-node';
import { type Dispatcher, fetch } from 'undici';
import type { ConfigMapObject } from './protocol.ts';

/** A failed API call, with the HTTP status and the apiserver's Status reason and message. */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string | undefined;
  constructor(status: number, reason: string | undefined, message: string) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
  }
}

export interface ApplyOptions {
  fieldManager: string;
  force: boolean;
  signal?: AbortSignal;
}

export interface WatchByNameOptions {
  resourceVersion: string;
  /** The apiserver closes the watch cleanly after this; keep it below client-side idle limits. */
  timeoutSeconds: number;
  signal: AbortSignal;
  /** ADDED/MODIFIED/DELETED events of the one object. */
  onEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', configMap: ConfigMapObject): void;
}

export interface ConfigMapApi {
  apply(configMap: ConfigMapObject, options: ApplyOptions): Promise<ConfigMapObject>;
  /** The ConfigMap (undefined when it does not exist) and the list's resourceVersion to watch from. */
  getByName(
    namespace: string,
    name: string,
    signal?: AbortSignal,
  ): Promise<{ configMap: ConfigMapObject | undefined; resourceVersion: string }>;
  /** Resolves when the watch ends normally; rejects with KubeApiError (410 when the version is too old). */
  watchByName(namespace: string, name: string, options: WatchByNameOptions): Promise<void>;
}

const defaultRequestTimeoutMs = 30_000;

/** A ConfigMapApi talking to the cluster `kubeConfig` points at. */
export function configMapApi(kubeConfig: KubeConfig, options: { requestTimeoutMs?: number } = {}): ConfigMapApi {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new Error('kubeconfig: no current cluster (is $KUBECONFIG set, or is this a pod?)');
  const timeoutMs = options.requestTimeoutMs ?? defaultRequestTimeoutMs;
  const path = (namespace: string, name?: string) =>
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps${name ? `/${encodeURIComponent(name)}` : ''}`;

  const send = async (
    method: HttpMethod,
    url: URL,
    init: { body?: string; contentType?: string; signal?: AbortSignal; timeout: boolean },
  ) => {
    const context = new RequestContext(url.toString(), method);
    await kubeConfig.applySecurityAuthentication(context);
    const headers: Record<string, string> = { ...context.getHeaders(), accept: 'application/json' };
    if (init.contentType) headers['content-type'] = init.contentType;
    const signals = [init.signal, init.timeout ? AbortSignal.timeout(timeoutMs) : undefined].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    const dispatcher = context.getDispatcher() as Dispatcher | undefined;
    const response = await fetch(url, {
      method,
      headers,
      ...(init.body !== undefined ? { body: init.body } : {}),
      ...(dispatcher ? { dispatcher } : {}),
      ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
    });
    return { response, close: () => (dispatcher as { close?: () => Promise<void> } | undefined)?.close?.() };
  };

  const json = async <T>(
    method: HttpMethod,
    url: URL,
    init: { body?: string; contentType?: string; signal?: AbortSignal },
  ) => {
    const { response, close } = await send(method, url, { ...init, timeout: true });
    try {
      const text = await response.text();
      if (!response.ok) throw apiError(response.status, text, `${method} ${url.pathname}`);
      return JSON.parse(text) as T;
    } finally {
      void close()?.catch(() => {});
    }
  };

  return {
    apply(configMap, applyOptions) {
      const namespace = configMap.metadata.namespace;
      if (!namespace) throw new Error(`ConfigMap ${configMap.metadata.name}: metadata.namespace is required`);
      const url = new URL(path(namespace, configMap.metadata.name), server);
      url.searchParams.set('fieldManager', applyOptions.fieldManager);
      if (applyOptions.force) url.searchParams.set('force', 'true');
      return json<ConfigMapObject>(HttpMethod.PATCH, url, {
        body: JSON.stringify(configMap),
        contentType: 'application/apply-patch+yaml',
        ...(applyOptions.signal ? { signal: applyOptions.signal } : {}),
      });
    },

    async getByName(namespace, name, signal) {
      const url = new URL(path(namespace), server);
      url.searchParams.set('fieldSelector', `metadata.name=${name}`);
      const list = await json<{ metadata?: { resourceVersion?: string }; items?: ConfigMapObject[] }>(
        HttpMethod.GET,
        url,
        signal ? { signal } : {},
      );
      return { configMap: list.items?.[0], resourceVersion: list.metadata?.resourceVersion ?? '' };
    },

    async watchByName(namespace, name, watch) {
      const url = new URL(path(namespace), server);
      url.searchParams.set('watch', 'true');
      url.searchParams.set('fieldSelector', `metadata.name=${name}`);
      url.searchParams.set('resourceVersion', watch.resourceVersion);
      url.searchParams.set('timeoutSeconds', String(watch.timeoutSeconds));
      url.searchParams.set('allowWatchBookmarks', 'true');
      const { response, close } = await send(HttpMethod.GET, url, { signal: watch.signal, timeout: false });
      try {
        if (!response.ok) throw apiError(response.status, await response.text(), `watch ${url.pathname}`);
        if (!response.body) return;
        const decoder = new TextDecoder();
        let buffered = '';
        for await (const chunk of response.body) {
          buffered += decoder.decode(chunk as Uint8Array, { stream: true });
          let newline = buffered.indexOf('\n');
          while (newline !== -1) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (line) handleWatchLine(line, watch);
            newline = buffered.indexOf('\n');
          }
        }
      } finally {
        void close()?.catch(() => {});
      }
    },
  };
}

function handleWatchLine(line: string, watch: WatchByNameOptions): void {
  let event: { type?: string; object?: unknown };
  try {
    event = JSON.parse(line) as { type?: string; object?: unknown };
  } catch {
    throw new KubeApiError(0, 'BadWatchEvent', `watch: an event was not valid JSON: ${line.slice(0, 80)}`);
  }
  if (event.type === 'ERROR') {
    const status = event.object as { code?: number; reason?: string; message?: string } | undefined;
    throw new KubeApiError(status?.code ?? 0, status?.reason, `watch: ${status?.message ?? 'error event'}`);
  }
  if (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED') {
    watch.onEvent(event.type, event.object as ConfigMapObject);
  }
}

function apiError(status: number, body: string, what: string): KubeApiError {
  let reason: string | undefined;
  let message = body.slice(0, 300);
  try {
    const parsed = JSON.parse(body) as { reason?: string; message?: string };
    reason = parsed.reason;
    if (parsed.message) message = parsed.message;
  } catch {
    // not a Status object: keep the raw text
  }
  return new KubeApiError(status, reason, `${what}: HTTP ${status}${reason ? ` ${reason}` : ''}: ${message}`);
}
