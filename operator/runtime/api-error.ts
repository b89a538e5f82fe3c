/**
 * Kubernetes API errors as one clear type: the HTTP status, the Status `reason`, and a message that says what
 * was requested and why the apiserver refused it (including field causes of validation errors). Also maps
 * client-node's ApiException (raw body text) and watch errors (`statusCode`) into the same type.
 */

/** The `Status` object the apiserver returns with errors (and in watch ERROR events). */
export interface KubeStatus {
  kind?: 'Status';
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
    retryAfterSeconds?: number;
  };
}

export class ApiError extends Error {
  override name = 'ApiError';
  /** HTTP status (0 when no response arrived). */
  readonly status: number;
  /** Status reason, e.g. NotFound, AlreadyExists, Conflict, Invalid, Expired, Gone. */
  readonly reason: string | undefined;
  readonly statusBody: KubeStatus | undefined;

  constructor(message: string, status: number, reason?: string, statusBody?: KubeStatus, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
    this.reason = reason;
    this.statusBody = statusBody;
  }
}

/** "GET /api/v1/...: 422 Invalid: ConfigMap "x" is invalid: data: Too long (data: ...)" */
export function apiErrorFrom(what: string, status: number, bodyText: string): ApiError {
  const body = parseStatus(bodyText);
  const detail = statusMessage(body) ?? (bodyText.trim().slice(0, 500) || httpStatusText(status));
  const reason = body?.reason;
  return new ApiError(`${what}: ${status}${reason ? ` ${reason}` : ''}: ${detail}`, status, reason, body);
}

/** The Status's message plus the field causes the message does not already include. */
export function statusMessage(status: KubeStatus | undefined): string | undefined {
  if (!status) return undefined;
  const message = status.message ?? '';
  const causes = (status.details?.causes ?? [])
    .map((cause) => (cause.field ? `${cause.field}: ${cause.message ?? cause.reason ?? ''}` : (cause.message ?? '')))
    .filter((cause) => cause && !message.includes(cause));
  const parts = [message, ...causes].filter(Boolean);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

export function parseStatus(bodyText: string | undefined): KubeStatus | undefined {
  if (!bodyText) return undefined;
  try {
    const parsed = JSON.parse(bodyText) as unknown;
    if (parsed && typeof parsed === 'object' && (parsed as KubeStatus).kind === 'Status') return parsed as KubeStatus;
  } catch {
    // not JSON: the caller falls back to the text
  }
  return undefined;
}

/**
 * Turns whatever a client-node call threw into an ApiError with a readable message: ApiException (`code`,
 * `body` as text), watch errors (`statusCode`), or anything else (status 0).
 */
export function toApiError(error: unknown, what = 'Kubernetes API request'): ApiError {
  if (error instanceof ApiError) return error;
  const candidate = error as { code?: unknown; statusCode?: unknown; body?: unknown; message?: unknown };
  const status =
    typeof candidate?.code === 'number'
      ? candidate.code
      : typeof candidate?.statusCode === 'number'
        ? candidate.statusCode
        : 0;
  if (status > 0) {
    const body = typeof candidate.body === 'string' ? candidate.body : JSON.stringify(candidate.body ?? '');
    return apiErrorFrom(what, status, body);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ApiError(`${what}: ${message}`, 0, undefined, undefined, { cause: error });
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404;
}

/** 409 from an optimistic-concurrency failure (resourceVersion mismatch). */
export function isConflict(error: unknown): boolean {
  return error instanceof ApiError && error.status === 409 && error.reason !== 'AlreadyExists';
}

export function isAlreadyExists(error: unknown): boolean {
  return error instanceof ApiError && error.status === 409 && error.reason === 'AlreadyExists';
}

/** 410 Gone / Expired: the resourceVersion is too old; relist. */
export function isGone(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 410 || error.reason === 'Expired' || error.reason === 'Gone');
}

export function isForbidden(error: unknown): boolean {
  return error instanceof ApiError && error.status === 403;
}

export function isInvalid(error: unknown): boolean {
  return error instanceof ApiError && error.status === 422;
}

/** Errors worth retrying as they are: timeouts, throttling, server errors and connection failures. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof ApiError)) return true;
  return error.status === 0 || error.status === 429 || error.status >= 500;
}

function httpStatusText(status: number): string {
  return status === 0 ? 'no response' : `HTTP ${status}`;
}
