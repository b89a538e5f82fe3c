/**
 * One Grafana HTTP API call with undici: auth and org headers, a deadline, JSON in and out, and the mapping of
 * failures to GrafanaApiError reasons. 404, 409 and 412 are returned to the caller, which knows what they mean.
 */
import { type Dispatcher, request } from 'undici';
import { GrafanaApiError } from './errors.ts';
import type { GrafanaApiClientOptions } from './types.ts';

export interface GrafanaResponse {
  status: number;
  body: unknown;
}

/** Statuses a caller interprets itself; every other non-2xx becomes a GrafanaApiError. */
const passedThrough = new Set([404, 409, 412]);
const maxMessageLength = 300;

export interface GrafanaHttp {
  /** Base URL without credentials, for messages. */
  readonly displayUrl: string;
  call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<GrafanaResponse>;
  /** Message text for a response, with any known secret removed. */
  grafanaMessage(body: unknown): string;
  /** Keeps these out of every later message too (in addition to the credentials), e.g. secure datasource values. */
  addSecrets(secrets: Iterable<string>): void;
}

export function createGrafanaHttp(options: GrafanaApiClientOptions): GrafanaHttp {
  const parsed = parseBaseUrl(options.url);
  const displayUrl = parsed.display;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const authorization =
    'token' in options.auth
      ? `Bearer ${options.auth.token}`
      : `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`;
  const secrets = new Set<string>(
    'token' in options.auth ? [options.auth.token] : [options.auth.password, authorization.slice('Basic '.length)],
  );

  const redact = (text: string): string => {
    let result = text;
    for (const secret of secrets) {
      if (secret.length >= 4) result = result.split(secret).join('[redacted]');
    }
    return result;
  };

  const grafanaMessage = (body: unknown): string => {
    let text = '';
    if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') {
      text = body.message;
    } else if (typeof body === 'string') {
      text = body;
    }
    text = redact(text.replace(/\s+/g, ' ').trim());
    return text.length > maxMessageLength ? `${text.slice(0, maxMessageLength)}…` : text;
  };

  const call = async (
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<GrafanaResponse> => {
    if (parsed.error) throw new GrafanaApiError('GrafanaRejected', parsed.error);
    const what = `${method} ${path.split('?')[0]}`;
    const headers: Record<string, string> = { accept: 'application/json', authorization };
    if (options.orgId !== undefined) headers['x-grafana-org-id'] = String(options.orgId);
    if (body !== undefined) headers['content-type'] = 'application/json';
    let status: number;
    let text: string;
    let location: string | undefined;
    try {
      const response = await request(`${parsed.base}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
        ...(options.dispatcher ? { dispatcher: options.dispatcher as Dispatcher } : {}),
      });
      status = response.statusCode;
      location = headerValue(response.headers.location);
      text = await response.body.text();
    } catch (error) {
      throw new GrafanaApiError(
        'GrafanaUnreachable',
        `Grafana at ${displayUrl} is unreachable (${what}): ${redact(describeTransportError(error, timeoutMs))}`,
      );
    }
    const parsedBody = parseJson(text);
    if (status >= 200 && status < 300) {
      if (parsedBody === undefined && text.trim() !== '') {
        throw new GrafanaApiError(
          'GrafanaRejected',
          `${displayUrl} answered ${what} with HTTP ${status} but not JSON; is this the base URL of Grafana?`,
          status,
        );
      }
      return { status, body: parsedBody };
    }
    if (passedThrough.has(status)) return { status, body: parsedBody ?? text };
    if (status >= 300 && status < 400) {
      throw new GrafanaApiError(
        'GrafanaRejected',
        `${displayUrl} redirected ${what} (HTTP ${status}${location ? ` to ${redact(location.split('?')[0] ?? '')}` : ''}); ` +
          'use the URL Grafana is served at, without a login proxy in front of the API',
        status,
      );
    }
    const message = grafanaMessage(parsedBody ?? text);
    const said = message ? `: ${message}` : '';
    if (status === 401) {
      throw new GrafanaApiError(
        'GrafanaAuthFailed',
        `Grafana at ${displayUrl} rejected the credentials (HTTP 401 on ${what})${said}; check the credentials Secret` +
          (options.orgId !== undefined ? ` and that they belong to organization ${options.orgId}` : ''),
        status,
      );
    }
    if (status === 403) {
      throw new GrafanaApiError(
        'GrafanaAuthFailed',
        `Grafana at ${displayUrl} denied ${what} (HTTP 403)${said}; the credentials need the Admin role ` +
          '(or datasources, dashboards and folders write permissions)',
        status,
      );
    }
    if (status >= 500) {
      throw new GrafanaApiError(
        'GrafanaServerError',
        `Grafana at ${displayUrl} failed on ${what} (HTTP ${status})${said}`,
        status,
      );
    }
    throw new GrafanaApiError(
      'GrafanaRejected',
      `Grafana at ${displayUrl} rejected ${what} (HTTP ${status})${said}`,
      status,
    );
  };

  const addSecrets = (values: Iterable<string>) => {
    for (const value of values) secrets.add(value);
  };

  return { displayUrl, call, grafanaMessage, addSecrets };
}

interface BaseUrl {
  /** Origin plus path prefix, no trailing slash. */
  base: string;
  display: string;
  error?: string;
}

function parseBaseUrl(raw: string): BaseUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return {
      base: '',
      display: '(invalid URL)',
      error: 'the Grafana URL is not a valid URL: expected http(s)://host[:port][/path]',
    };
  }
  const hadCredentials = url.username !== '' || url.password !== '';
  url.username = '';
  url.password = '';
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { base, display: base, error: `the Grafana URL ${base} must start with http:// or https://` };
  }
  if (hadCredentials) {
    return {
      base,
      display: base,
      error: `the Grafana URL ${base} must not contain credentials; put them in the credentials Secret`,
    };
  }
  return { base, display: base };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describeTransportError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError' || /timeout/i.test(String(errorCode(error)))) {
      return `no answer within ${timeoutMs} ms`;
    }
    const code = errorCode(error) ?? errorCode(error.cause);
    const message = error.cause instanceof Error ? error.cause.message : error.message;
    return code && !message.includes(code) ? `${message} (${code})` : message;
  }
  return String(error);
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string')
    return error.code;
  return undefined;
}
