/**
 * A small JSON client for the Kubernetes API on undici, for a ClusterConnection (kube-config.ts) or a
 * client-node KubeConfig.
 *
 * Why not client-node's generated APIs and Watch (2.0.1, checked in node_modules):
 * - every call builds a new undici Agent (KubeConfig.createDispatcher has no cache), so each request opens a new
 *   TLS connection (measured: 10 requests, 10 connections) and idle sockets pile up per reconnect (the #2893
 *   leak, fixed there only for the https.Agent path);
 * - Watch aborts a watch after 30 s without data (#3022 turned #3020's hard 30 s abort into an inactivity
 *   timeout), and ListWatch never asks for bookmarks, so a quiet watch reconnects twice a minute;
 * - no subresources (`/status`) in KubernetesObjectApi, and model (de)serialization drops unknown fields.
 * - importing it costs about 50 MB of RSS.
 * Here one Agent (HTTP/2 when the apiserver offers it; a timed-out stream makes undici PING the connection and
 * replace it if dead) carries every request and watch, bodies stay raw JSON, and every request is counted as
 * rest_client_requests_total{method,code} (watches as method WATCH).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, type Dispatcher, request } from 'undici';
import { ApiError, apiErrorFrom, type KubeStatus } from './api-error.ts';
import { type ClusterConnection, connectionFromClientNode } from './kube-config.ts';
import type { RestClientMetricsHooks } from './metrics.ts';
import { type KubeList, type KubeObject, type ResourceType, resourcePath } from './resources.ts';

export type QueryValue = string | number | boolean | undefined;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  /** Serialized as JSON. */
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Whole-request timeout; default the client's (30 s). */
  timeoutMs?: number;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  signal?: AbortSignal;
}

export interface WatchEvent<T = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  /** For ERROR events a Status. */
  object: T | KubeStatus;
}

export interface WatchOptions {
  namespace?: string;
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  allowWatchBookmarks?: boolean;
  /** Server-side duration of the watch; the apiserver ends it cleanly after this. */
  timeoutSeconds?: number;
  signal: AbortSignal;
  /** Called once the apiserver accepted the watch (200 and headers received). */
  onConnected?: () => void;
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

export const patchContentTypes: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface PatchOptions {
  fieldManager?: string;
  force?: boolean;
  subresource?: string;
  signal?: AbortSignal;
}

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  signal?: AbortSignal;
}

export interface KubeClientOptions {
  metrics?: RestClientMetricsHooks;
  userAgent?: string;
  /** Default whole-request timeout for non-watch requests; default 30 s. */
  requestTimeoutMs?: number;
  /** How long auth headers (e.g. a rotated service-account token) are reused; default 30 s. */
  authRefreshMs?: number;
}

interface AuthState {
  headers: Record<string, string>;
  readAt: number;
}

export class KubeClient {
  readonly server: URL;
  /** Where the connection came from (never credentials), for logs. */
  readonly source: string;
  private readonly connection: ClusterConnection;
  private readonly agent: Agent;
  private readonly metrics: RestClientMetricsHooks | undefined;
  private readonly userAgent: string;
  private readonly requestTimeoutMs: number;
  private readonly authRefreshMs: number;
  private auth: AuthState | undefined;
  private requests = 0;
  private closed = false;

  private constructor(connection: ClusterConnection, options: KubeClientOptions) {
    this.connection = connection;
    this.server = new URL(connection.server);
    this.source = connection.source;
    if (this.server.protocol !== 'https:' && connection.tls.rejectUnauthorized !== false) {
      throw new Error(`${connection.source}: server ${connection.server} is not https`);
    }
    const { tls } = connection;
    this.agent = new Agent({
      connect: {
        ...(tls.ca ? { ca: tls.ca } : {}),
        ...(tls.cert ? { cert: tls.cert } : {}),
        ...(tls.key ? { key: tls.key } : {}),
        ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
        ...(tls.servername ? { servername: tls.servername } : {}),
        keepAlive: true,
        keepAliveInitialDelay: 30_000,
      },
    });
    this.metrics = options.metrics;
    this.userAgent = options.userAgent ?? 'loadlm-operator';
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.authRefreshMs = options.authRefreshMs ?? 30_000;
  }

  /** A client for a connection from `loadConnection()`, `inClusterConnection()` or `connectionFromKubeconfig()`. */
  static fromConnection(connection: ClusterConnection, options: KubeClientOptions = {}): KubeClient {
    return new KubeClient(connection, options);
  }

  /** A client for a client-node KubeConfig (any auth it supports). */
  static async fromKubeConfig(kubeConfig: KubeConfig, options: KubeClientOptions = {}): Promise<KubeClient> {
    return new KubeClient(await connectionFromClientNode(kubeConfig), options);
  }

  /** Requests sent so far by this client (all methods, watches included). */
  get requestCount(): number {
    return this.requests;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const text = await this.send(method, path, options);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T extends KubeObject>(resource: ResourceType, namespace: string | undefined, name: string): Promise<T> {
    return this.request<T>('GET', resourcePath(resource, namespace, name));
  }

  /** The object, or undefined when it does not exist. */
  async getIfExists<T extends KubeObject>(
    resource: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    try {
      return await this.get<T>(resource, namespace, name);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  list<T extends KubeObject>(resource: ResourceType, options: ListOptions = {}): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('GET', resourcePath(resource, options.namespace), {
      query: {
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        limit: options.limit,
        continue: options.continue,
        resourceVersion: options.resourceVersion,
      },
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  create<T extends KubeObject>(resource: ResourceType, object: T, options: { signal?: AbortSignal } = {}): Promise<T> {
    return this.request<T>('POST', resourcePath(resource, object.metadata?.namespace), {
      body: object,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** PUT: optimistic concurrency through `metadata.resourceVersion` (409 Conflict when it moved on). */
  replace<T extends KubeObject>(
    resource: ResourceType,
    object: T,
    options: { subresource?: string; signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<T> {
    const name = object.metadata?.name;
    if (!name) throw new Error(`replace ${resource.kind}: metadata.name is required`);
    return this.request<T>('PUT', resourcePath(resource, object.metadata?.namespace, name, options.subresource), {
      body: object,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
  }

  patch<T extends KubeObject>(
    resource: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: PatchType,
    options: PatchOptions = {},
  ): Promise<T> {
    return this.request<T>('PATCH', resourcePath(resource, namespace, name, options.subresource), {
      body: patch,
      contentType: patchContentTypes[type],
      query: {
        fieldManager: options.fieldManager,
        force: type === 'apply' && options.force ? true : undefined,
      },
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** Deletes; resolves false when the object was already gone. */
  async delete(
    resource: ResourceType,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): Promise<boolean> {
    const body =
      options.propagationPolicy || options.gracePeriodSeconds !== undefined || options.preconditions
        ? {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            propagationPolicy: options.propagationPolicy,
            gracePeriodSeconds: options.gracePeriodSeconds,
            preconditions: options.preconditions,
          }
        : undefined;
    try {
      await this.send('DELETE', resourcePath(resource, namespace, name), {
        body,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return false;
      throw error;
    }
  }

  /**
   * Streams a watch: resolves when the apiserver ends it (e.g. after timeoutSeconds), rejects with an ApiError on
   * an HTTP error or a broken stream, and with the signal's reason when aborted. ERROR events are passed on;
   * the caller decides (e.g. relists on 410).
   */
  async watch<T extends KubeObject>(
    resource: ResourceType,
    options: WatchOptions,
    onEvent: (event: WatchEvent<T>) => void,
  ): Promise<void> {
    const path = resourcePath(resource, options.namespace);
    const query: Record<string, QueryValue> = {
      watch: true,
      resourceVersion: options.resourceVersion,
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
      allowWatchBookmarks: options.allowWatchBookmarks,
      timeoutSeconds: options.timeoutSeconds,
    };
    const response = await this.dispatch('WATCH', 'GET', path, { query, signal: options.signal }, 0);
    if (response.statusCode !== 200) {
      const text = await response.body.text().catch(() => '');
      throw apiErrorFrom(`WATCH ${path}`, response.statusCode, text);
    }
    options.onConnected?.();
    let buffer = '';
    try {
      response.body.setEncoding('utf8');
      for await (const chunk of response.body) {
        buffer += chunk as string;
        let newline = buffer.indexOf('\n');
        while (newline !== -1) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
          newline = buffer.indexOf('\n');
        }
      }
    } catch (error) {
      response.body.destroy();
      if (options.signal.aborted) throw options.signal.reason;
      if (error instanceof SyntaxError) throw new ApiError(`WATCH ${path}: malformed event: ${error.message}`, 0);
      throw new ApiError(`WATCH ${path}: stream broken: ${(error as Error).message}`, 0, undefined, undefined, {
        cause: error,
      });
    }
  }

  /** Closes every connection; in-flight requests and watches fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.agent.destroy().catch(() => {});
  }

  private async send(method: string, path: string, options: RequestOptions): Promise<string> {
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    const response = await this.dispatch(method, method, path, options, timeoutMs);
    const text = await response.body.text();
    if (response.statusCode >= 400) throw apiErrorFrom(`${method} ${path}`, response.statusCode, text);
    return text;
  }

  /** Sends one request (retrying once on 401 with fresh credentials) and counts it. */
  private async dispatch(
    label: string,
    method: string,
    path: string,
    options: RequestOptions,
    timeoutMs: number,
  ): Promise<Dispatcher.ResponseData> {
    if (this.closed) throw new ApiError(`${label} ${path}: the client is closed`, 0);
    const url = new URL(path, this.server);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {
        ...(await this.authHeaders(attempt > 0)),
        accept: 'application/json',
        'user-agent': this.userAgent,
      };
      if (payload !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
      const started = performance.now();
      this.requests++;
      let response: Dispatcher.ResponseData;
      try {
        // undici's own timeouts, not an AbortSignal: on an HTTP/2 stream timeout undici probes the connection
        // with a PING and replaces it when the peer is gone, so the next request gets a fresh connection.
        response = await request(url, {
          method: method as Dispatcher.HttpMethod,
          headers,
          ...(payload !== undefined ? { body: payload } : {}),
          dispatcher: this.agent,
          ...(options.signal ? { signal: options.signal } : {}),
          headersTimeout: timeoutMs > 0 ? timeoutMs : this.requestTimeoutMs,
          // Watches are idle for minutes between events; the informer's stall watchdog bounds them instead.
          bodyTimeout: Math.max(timeoutMs, 0),
        });
      } catch (error) {
        this.metrics?.request(label, '<error>', (performance.now() - started) / 1000);
        if (options.signal?.aborted) throw options.signal.reason;
        const code = (error as { code?: string }).code;
        const timedOut = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
        const reason = timedOut
          ? `timed out after ${timeoutMs > 0 ? timeoutMs : this.requestTimeoutMs} ms`
          : (error as Error).message;
        throw new ApiError(`${label} ${url.pathname}: ${reason}`, 0, undefined, undefined, { cause: error });
      }
      this.metrics?.request(label, String(response.statusCode), (performance.now() - started) / 1000);
      if (response.statusCode === 401 && attempt === 0) {
        await response.body.dump();
        continue;
      }
      return response;
    }
  }

  private async authHeaders(refresh: boolean): Promise<Record<string, string>> {
    const now = Date.now();
    if (!refresh && this.auth && now - this.auth.readAt < this.authRefreshMs) return this.auth.headers;
    const headers = await this.connection.authHeaders();
    this.auth = { headers, readAt: now };
    return headers;
  }
}
