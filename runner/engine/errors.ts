/**
 * Mapping transport failures to the engine's error classes, with messages a user can act on.
 *
 * | class         | causes                                                                              |
 * | ------------- | ----------------------------------------------------------------------------------- |
 * | connect       | ECONNREFUSED, DNS failure (ENOTFOUND, EAI_AGAIN), unreachable host/network, connect timeout |
 * | timeout       | no response headers in time, no body data in time (stalled stream), overall request limit |
 * | http          | status ≥ 400 (message carries the status and the server's error text)                 |
 * | broken_stream | connection closed or reset after it was established (mid-stream or before headers), a stream that ends without [DONE]/finish_reason, an error object inside the stream |
 * | bad_payload   | malformed JSON or SSE, wrong content type, invalid HTTP from the server               |
 * | cancelled     | aborted by us at shutdown                                                             |
 */
import type { ErrorClass } from './types.ts';

/** An error the engine raises itself, already classified. */
export class ClassifiedError extends Error {
  readonly errorClass: ErrorClass;
  readonly httpStatus: number | undefined;
  constructor(errorClass: ErrorClass, message: string, httpStatus?: number) {
    super(message);
    this.name = 'ClassifiedError';
    this.errorClass = errorClass;
    this.httpStatus = httpStatus;
  }
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const CLOSED_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

export interface ErrorContext {
  /** Whether response headers had arrived when the error happened. */
  gotHeaders: boolean;
  headersTimeoutMs: number;
  bodyIdleTimeoutMs: number;
}

export interface Classification {
  errorClass: ErrorClass;
  message: string;
  httpStatus?: number;
}

function codeOf(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  const cause = (err as { cause?: unknown }).cause;
  return cause && cause !== err ? codeOf(cause) : undefined;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

export function classifyError(err: unknown, ctx: ErrorContext): Classification {
  if (err instanceof ClassifiedError) {
    const c: Classification = { errorClass: err.errorClass, message: err.message };
    if (err.httpStatus !== undefined) c.httpStatus = err.httpStatus;
    return c;
  }
  const code = codeOf(err);
  const detail = messageOf(err);
  if (code === 'UND_ERR_HEADERS_TIMEOUT') {
    return {
      errorClass: 'timeout',
      message: `no response headers within ${ctx.headersTimeoutMs} ms (headers timeout)`,
    };
  }
  if (code === 'UND_ERR_BODY_TIMEOUT') {
    return {
      errorClass: 'timeout',
      message: `no response data for ${ctx.bodyIdleTimeoutMs} ms (body idle timeout; stalled stream)`,
    };
  }
  if (code !== undefined && CONNECT_CODES.has(code)) {
    return { errorClass: 'connect', message: `cannot connect (${code}): ${detail}` };
  }
  if (code !== undefined && CLOSED_CODES.has(code)) {
    const where = ctx.gotHeaders ? 'mid-stream' : 'before response headers';
    return { errorClass: 'broken_stream', message: `connection closed ${where} (${code}): ${detail}` };
  }
  if (code?.startsWith('HPE_') || code === 'UND_ERR_HEADERS_OVERFLOW') {
    return { errorClass: 'bad_payload', message: `invalid HTTP response (${code}): ${detail}` };
  }
  return {
    errorClass: ctx.gotHeaders ? 'broken_stream' : 'connect',
    message: `${code ? `${code}: ` : ''}${detail}`,
  };
}

/** Removes every occurrence of a secret from a message (defence in depth; messages never embed it knowingly). */
export function redact(message: string, secret: string | undefined): string {
  if (!secret || secret.length < 4) return message;
  return message.split(secret).join('***');
}
