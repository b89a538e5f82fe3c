/**
 * One target's HTTP client: an undici Pool sized to the in-flight cap (pipelining 1, since an HTTP/1.1
 * stream occupies its socket), and a low-level dispatch handler per request so streamed bytes go straight
 * from the socket to the SSE parser without a Readable in between.
 *
 * Each request gets its own AbortController (cancellation at shutdown, overall timeout), per-request
 * headers/body-idle timeouts, and its body is always consumed to the end or the request aborted.
 */

import type { Dispatcher } from 'undici';
import { Pool } from 'undici';
import {
  BadPayloadError,
  CHUNK_CONTENT,
  CHUNK_DONE,
  CHUNK_FINISH,
  CHUNK_NEEDS_PARSE,
  errorMessageOf,
  parseChunk,
  readUsage,
  scanChunk,
  snippet,
  type Usage,
} from './chunk.ts';
import { now } from './clock.ts';
import { ClassifiedError, classifyError, redact } from './errors.ts';
import { latenciesFromTimeline } from './latency.ts';
import { SseParser, SseSyntaxError } from './sse.ts';
import { Timeline, TimelinePool } from './timeline.ts';
import type { ApiKind, RequestResult, TargetSpec } from './types.ts';

/** Error bodies are read up to this size for their message. */
const MAX_ERROR_BODY = 64 * 1024;
/** Non-streamed responses larger than this are rejected as bad payloads. */
const MAX_JSON_BODY = 64 * 1024 * 1024;

export interface ChatMessage {
  role: string;
  content: string;
}

/** What to send: a prompt (completions, or one user message for chat) or chat messages. */
export interface RequestInput {
  prompt?: string;
  messages?: ChatMessage[];
  maxTokens: number;
}

export interface Endpoint {
  origin: string;
  path: string;
}

/** Resolves `target.url` (base, base/v1 or full endpoint) to origin + request path. */
export function resolveEndpoint(url: string, api: ApiKind): Endpoint {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`target.url: expected an absolute http(s) URL, got ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new Error(`target.url: expected an http or https URL, got protocol ${u.protocol}`);
  }
  if (u.username || u.password) throw new Error('target.url: credentials in the URL are not supported; use apiKey');
  const base = u.pathname.replace(/\/+$/, '');
  const suffix = api === 'chat' ? '/chat/completions' : '/completions';
  let path: string;
  if (base.endsWith('/chat/completions') || base.endsWith('/completions')) {
    const isChat = base.endsWith('/chat/completions');
    if (isChat !== (api === 'chat')) {
      throw new Error(`target.url: the endpoint ${u.pathname} does not match target.api ${JSON.stringify(api)}`);
    }
    path = base;
  } else if (base.endsWith('/v1')) {
    path = base + suffix;
  } else {
    path = `${base}/v1${suffix}`;
  }
  return { origin: u.origin, path: path + u.search };
}

export function validateTarget(t: TargetSpec): void {
  resolveEndpoint(t.url, t.api);
  if (!t.model) throw new Error('target.model: expected a non-empty model name');
  if (t.api !== 'chat' && t.api !== 'completions') {
    throw new Error(`target.api: expected "chat" or "completions", got ${JSON.stringify(t.api)}`);
  }
  if (!Number.isInteger(t.maxConnections) || t.maxConnections < 1) {
    throw new Error(`target.maxConnections: expected an integer ≥ 1, got ${t.maxConnections}`);
  }
  for (const k of ['connectMs', 'headersMs', 'bodyIdleMs'] as const) {
    const v = t.timeouts?.[k];
    if (typeof v !== 'number' || !(v > 0)) throw new Error(`target.timeouts.${k}: expected a number > 0, got ${v}`);
  }
  const r = t.timeouts.requestMs;
  if (r !== undefined && !(r > 0)) throw new Error(`target.timeouts.requestMs: expected a number > 0, got ${r}`);
}

export class TargetClient {
  readonly target: TargetSpec;
  readonly endpoint: Endpoint;
  private readonly pool: Pool;
  private readonly headers: Record<string, string>;
  /** Requests handed to the pool and not finished yet. */
  inFlight = 0;
  /** Called with the clock reading taken at each streamed network read (the dispatcher's cheap wake-up). */
  onRead: ((nowMs: number) => void) | undefined;
  private readonly live = new Set<RequestHandler>();
  /** @internal Chunk-time buffers shared by this client's streams. */
  readonly timelines = new TimelinePool();

  constructor(target: TargetSpec) {
    validateTarget(target);
    this.target = target;
    this.endpoint = resolveEndpoint(target.url, target.api);
    this.pool = new Pool(this.endpoint.origin, {
      connections: target.maxConnections,
      pipelining: 1,
      connectTimeout: target.timeouts.connectMs,
      headersTimeout: target.timeouts.headersMs,
      bodyTimeout: target.timeouts.bodyIdleMs,
    });
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: target.stream ? 'text/event-stream' : 'application/json',
    };
    for (const [k, v] of Object.entries(target.headers ?? {})) headers[k.toLowerCase()] = v;
    if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
    this.headers = headers;
  }

  /** The JSON body for one request (max_tokens + ignore_eos force the output length). */
  buildBody(input: RequestInput): Buffer {
    const t = this.target;
    const body: Record<string, unknown> = { model: t.model };
    if (t.api === 'chat') {
      body.messages = input.messages ?? [{ role: 'user', content: input.prompt ?? '' }];
    } else {
      body.prompt = input.prompt ?? (input.messages ?? []).map((m) => m.content).join('\n');
    }
    body.max_tokens = input.maxTokens;
    body.ignore_eos = true;
    body.stream = t.stream;
    if (t.stream) body.stream_options = { include_usage: true };
    return Buffer.from(JSON.stringify(body));
  }

  /**
   * Sends one request. `result` arrives with scheduling fields set; timing, tokens and outcome are filled in
   * and `onDone(result)` is called exactly once. `sentAt` is stamped here.
   */
  send(result: RequestResult, body: Buffer, onDone: (r: RequestResult) => void): RequestHandler {
    const h = new RequestHandler(this, result, onDone);
    this.inFlight++;
    this.live.add(h);
    result.sentAt = now();
    result.dispatchLagSeconds = Math.max(0, (result.sentAt - result.scheduledAt) / 1000);
    try {
      this.pool.dispatch(
        {
          path: this.endpoint.path,
          method: 'POST',
          headers: this.headers,
          body,
          headersTimeout: this.target.timeouts.headersMs,
          bodyTimeout: this.target.timeouts.bodyIdleMs,
        },
        h,
      );
    } catch (err) {
      queueMicrotask(() => h.fail(err));
    }
    return h;
  }

  /** Cancels every request still in flight (classified `cancelled`). */
  cancelAll(message: string): void {
    for (const h of [...this.live]) h.cancel(message);
  }

  /** @internal */
  release(h: RequestHandler): void {
    if (this.live.delete(h)) this.inFlight--;
  }

  async close(): Promise<void> {
    this.cancelAll('client closed');
    await this.pool.destroy().catch(() => {});
  }
}

type Mode = 'stream' | 'json' | 'error' | 'wrong-type';

export class RequestHandler implements Dispatcher.DispatchHandler {
  private readonly client: TargetClient;
  private readonly result: RequestResult;
  private readonly onDone: (r: RequestResult) => void;
  private readonly abortController = new AbortController();
  private controller: Dispatcher.DispatchController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;
  private transportDone = false;
  private gotHeaders = false;
  private mode: Mode = 'stream';
  private status = 0;
  private contentType = '';
  private parser: SseParser | undefined;
  private chunkTime = 0;
  /** Arrival times of the content chunks (stream mode; from the pool, returned when the request ends). */
  private timeline: Timeline | undefined;
  private sawDone = false;
  private sawFinish = false;
  private usage: Usage | undefined;
  private bodyParts: Buffer[] = [];
  private bodyLength = 0;

  constructor(client: TargetClient, result: RequestResult, onDone: (r: RequestResult) => void) {
    this.client = client;
    this.result = result;
    this.onDone = onDone;
    this.abortController.signal.addEventListener('abort', () => this.onAbort(), { once: true });
    const limit = client.target.timeouts.requestMs;
    if (limit !== undefined) {
      this.timer = setTimeout(
        () =>
          this.abortController.abort(new ClassifiedError('timeout', `request exceeded ${limit} ms (request timeout)`)),
        limit,
      );
    }
  }

  /** Cancel at shutdown: the request ends as `cancelled`. */
  cancel(message: string): void {
    if (!this.finished) this.abortController.abort(new ClassifiedError('cancelled', message));
  }

  private onAbort(): void {
    this.fail(this.abortController.signal.reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.finished) controller.abort(new ClassifiedError('cancelled', 'request already finished'));
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, unknown>,
  ): void {
    this.controller = controller;
    if (statusCode < 200) return; // 1xx informational
    this.gotHeaders = true;
    this.status = statusCode;
    const ct = headers['content-type'];
    this.contentType = typeof ct === 'string' ? ct.toLowerCase() : '';
    if (statusCode >= 400) this.mode = 'error';
    else if (!this.client.target.stream) this.mode = 'json';
    else if (this.contentType.includes('text/event-stream')) {
      this.mode = 'stream';
      this.timeline ??= new Timeline(this.client.timelines, this.result.requestedOutputTokens + 1);
      this.parser = new SseParser((buf, start, end) => this.onEvent(buf, start, end));
    } else this.mode = 'wrong-type';
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.finished) return;
    if (this.mode === 'stream') {
      const t = now();
      this.chunkTime = t;
      this.client.onRead?.(t);
      try {
        (this.parser as SseParser).push(chunk);
      } catch (err) {
        this.fail(err instanceof SseSyntaxError ? new ClassifiedError('bad_payload', err.message) : err);
      }
      return;
    }
    const limit = this.mode === 'json' ? MAX_JSON_BODY : MAX_ERROR_BODY;
    if (this.bodyLength < limit) {
      this.bodyParts.push(chunk);
      this.bodyLength += chunk.length;
    } else if (this.mode === 'json') {
      this.fail(new ClassifiedError('bad_payload', `response body larger than ${MAX_JSON_BODY} bytes`));
    }
  }

  onResponseEnd(): void {
    this.transportDone = true;
    if (this.finished) return;
    const end = now();
    try {
      switch (this.mode) {
        case 'stream':
          this.endStream();
          return;
        case 'json':
          this.endJson(end);
          return;
        case 'error':
          this.endHttpError();
          return;
        case 'wrong-type':
          throw new ClassifiedError(
            'bad_payload',
            `expected a text/event-stream response, got content-type ${JSON.stringify(this.contentType)}: ${snippet(this.bodyText())}`,
          );
      }
    } catch (err) {
      this.fail(err);
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.transportDone = true;
    this.fail(error);
  }

  private onEvent(buf: Buffer, start: number, end: number): void {
    if (this.sawDone) return;
    let flags = scanChunk(buf, start, end, this.client.target.api);
    if (flags & CHUNK_NEEDS_PARSE) {
      let parsed: ReturnType<typeof parseChunk>;
      try {
        parsed = parseChunk(buf.toString('utf8', start, end), this.client.target.api);
      } catch (err) {
        if (err instanceof BadPayloadError) throw new ClassifiedError('bad_payload', err.message);
        throw err;
      }
      if (parsed.error !== undefined) {
        throw new ClassifiedError('broken_stream', `server sent an error inside the stream: ${parsed.error}`);
      }
      if (parsed.usage) this.usage = parsed.usage;
      flags = (parsed.content ? CHUNK_CONTENT : 0) | (parsed.finish ? CHUNK_FINISH : 0);
    }
    if (flags & CHUNK_DONE) this.sawDone = true;
    if (flags & CHUNK_CONTENT) (this.timeline as Timeline).push(this.chunkTime);
    if (flags & CHUNK_FINISH) this.sawFinish = true;
  }

  private endStream(): void {
    const r = this.result;
    const timeline = this.timeline as Timeline;
    if (!this.sawDone && !this.sawFinish) {
      const n = timeline.count;
      const tail = (this.parser as SseParser).hasPendingData ? ' (a truncated event was left over)' : '';
      throw new ClassifiedError(
        'broken_stream',
        `stream ended without [DONE] or finish_reason after ${n} content chunk${n === 1 ? '' : 's'}${tail}`,
      );
    }
    let output = this.usage?.completionTokens;
    if (output === undefined) {
      output = timeline.count;
      r.outputTokensEstimated = true;
    }
    const lat = latenciesFromTimeline(r.scheduledAt, timeline.times, output, timeline.count);
    r.itlSeconds = lat.itlSeconds;
    if (lat.ttftSeconds !== undefined) r.ttftSeconds = lat.ttftSeconds;
    if (lat.e2eSeconds !== undefined) r.e2eSeconds = lat.e2eSeconds;
    if (lat.tpotSeconds !== undefined) r.tpotSeconds = lat.tpotSeconds;
    this.succeed(output);
  }

  private endJson(end: number): void {
    const r = this.result;
    const text = this.bodyText();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new ClassifiedError(
        'bad_payload',
        `malformed JSON response: ${(err as Error).message}; body: ${snippet(text)}`,
      );
    }
    const o = body as Record<string, unknown> | null;
    const choices = o && typeof o === 'object' ? o.choices : undefined;
    if (!Array.isArray(choices)) {
      const msg = errorMessageOf(body);
      if (msg !== undefined) throw new ClassifiedError('broken_stream', `server returned an error object: ${msg}`);
      throw new ClassifiedError('bad_payload', `response has no choices: ${snippet(text)}`);
    }
    this.usage = readUsage((o as Record<string, unknown>).usage);
    r.e2eSeconds = (end - r.scheduledAt) / 1000;
    r.itlSeconds = [];
    const output = this.usage?.completionTokens;
    if (output === undefined) r.outputTokensEstimated = true;
    this.succeed(output);
  }

  private endHttpError(): never {
    const text = this.bodyText();
    let detail: string | undefined;
    try {
      detail = errorMessageOf(JSON.parse(text));
    } catch {
      // not JSON: use the raw text
    }
    detail ??= snippet(text.trim()) || '(empty body)';
    throw new ClassifiedError('http', `HTTP ${this.status}: ${detail}`, this.status);
  }

  private bodyText(): string {
    const text = Buffer.concat(this.bodyParts, this.bodyLength).toString('utf8');
    this.bodyParts = [];
    return text;
  }

  private succeed(outputTokens: number | undefined): void {
    const r = this.result;
    r.ok = true;
    r.httpStatus = this.status;
    if (outputTokens !== undefined) r.outputTokens = outputTokens;
    if (this.usage?.promptTokens !== undefined) r.promptTokens = this.usage.promptTokens;
    this.complete();
  }

  /** Ends the request as failed (idempotent: only the first outcome counts). */
  fail(err: unknown): void {
    if (this.finished) return;
    this.finished = true; // before abort(): undici reports the abort back through onResponseError synchronously
    const t = this.client.target;
    const c = classifyError(err, {
      gotHeaders: this.gotHeaders,
      headersTimeoutMs: t.timeouts.headersMs,
      bodyIdleTimeoutMs: t.timeouts.bodyIdleMs,
    });
    const r = this.result;
    r.ok = false;
    r.errorClass = c.errorClass;
    r.errorMessage = redact(c.message, t.apiKey);
    const status = c.httpStatus ?? (this.gotHeaders ? this.status : undefined);
    if (status !== undefined) r.httpStatus = status;
    const timeline = this.timeline;
    if (timeline && timeline.count > 0) {
      // Partial timing is still informative for broken streams; the stats layer decides what to use.
      const lat = latenciesFromTimeline(r.scheduledAt, timeline.times, undefined, timeline.count);
      if (lat.ttftSeconds !== undefined) r.ttftSeconds = lat.ttftSeconds;
    }
    // Stop the transfer (releases the socket); before onRequestStart, onRequestStart aborts instead.
    if (!this.transportDone && this.controller && !this.controller.aborted) {
      this.controller.abort(err instanceof Error ? err : new Error(String(err)));
    }
    this.complete();
  }

  private complete(): void {
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.timeline?.release();
    this.timeline = undefined;
    this.client.release(this);
    // Out of undici's callback stack: the engine may dispatch the next request from onDone.
    queueMicrotask(() => this.onDone(this.result));
  }
}
