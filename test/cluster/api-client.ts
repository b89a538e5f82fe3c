/**
 * A small JSON client for the Kubernetes API on top of node:https, configured from a client-node KubeConfig.
 * The pod executor uses it instead of client-node's generated API because it needs strategic-merge patches of
 * subresources, raw wire JSON (string timestamps, unknown fields kept) and streaming watches with precise
 * control over resourceVersion and 410 handling.
 */
import { type Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly reason: string | undefined;
  readonly body: unknown;

  constructor(message: string, status: number, reason: string | undefined, body: unknown) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.body = body;
  }
}

export interface RequestOptionsJson {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Whole-request timeout; defaults to 30 s. */
  timeoutMs?: number;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export class ApiClient {
  readonly server: URL;
  private readonly agent: Agent | undefined;
  private readonly headers: Record<string, string>;

  private constructor(server: URL, agent: Agent | undefined, headers: Record<string, string>) {
    this.server = server;
    this.agent = agent;
    this.headers = headers;
  }

  static async fromKubeConfig(kubeConfig: KubeConfig): Promise<ApiClient> {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const options: RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(options);
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(options.headers ?? {})) {
      if (typeof value === 'string') headers[key] = value;
    }
    return new ApiClient(new URL(cluster.server), options.agent as Agent | undefined, headers);
  }

  async request<T>(method: string, path: string, options: RequestOptionsJson = {}): Promise<T> {
    const response = await this.send(method, path, options, options.timeoutMs ?? 30_000);
    const text = await readAll(response.stream);
    const body = text ? safeJson(text) : undefined;
    if (response.status >= 400) throw toApiError(method, path, response.status, body, text);
    return body as T;
  }

  /**
   * Streams a watch until the server ends it (resolves) or it fails (rejects). ERROR events are passed on; the
   * caller decides (e.g. relists on 410 Gone).
   */
  async watch<T>(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const response = await this.send('GET', path, { query: { ...query, watch: true }, signal }, 0);
    if (response.status >= 400) {
      const text = await readAll(response.stream);
      throw toApiError('WATCH', path, response.status, safeJson(text), text);
    }
    let buffer = '';
    response.stream.setEncoding('utf8');
    for await (const chunk of response.stream) {
      buffer += chunk as string;
      let newline = buffer.indexOf('\n');
      while (newline !== -1) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
        newline = buffer.indexOf('\n');
      }
    }
  }

  close(): void {
    this.agent?.destroy();
  }

  private send(
    method: string,
    path: string,
    options: RequestOptionsJson,
    timeoutMs: number,
  ): Promise<{ status: number; stream: import('node:http').IncomingMessage }> {
    const url = new URL(path, this.server);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { ...this.headers, Accept: 'application/json' };
    if (payload !== undefined) {
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, {
        method,
        headers,
        ...(this.agent ? { agent: this.agent } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (timeoutMs > 0) {
        req.setTimeout(timeoutMs, () =>
          req.destroy(new Error(`${method} ${url.pathname} timed out after ${timeoutMs}ms`)),
        );
      }
      req.on('error', reject);
      req.on('response', (res) => resolve({ status: res.statusCode ?? 0, stream: res }));
      req.end(payload);
    });
  }
}

async function readAll(stream: AsyncIterable<Buffer | string>): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
  return text;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toApiError(method: string, path: string, status: number, body: unknown, text: string): ApiError {
  const statusBody = body as { message?: string; reason?: string } | undefined;
  const message = statusBody?.message ?? text.slice(0, 500);
  return new ApiError(`${method} ${path}: ${status} ${message}`, status, statusBody?.reason, body);
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404;
}

export function isConflict(error: unknown): boolean {
  return error instanceof ApiError && error.status === 409;
}
