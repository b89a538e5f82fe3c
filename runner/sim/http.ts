import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import { type Engine, Generation, type ResponseSink } from './engine.ts';
import { type Fault, type FaultPicker, parseFault } from './faults.ts';
import type { SimOptions } from './options.ts';
import { completionBody, type Endpoint, errorBody, StreamRenderer } from './render.ts';
import { BadRequest, type InferenceRequest, parseInferenceRequest } from './requests.ts';

const MAX_BODY_BYTES = 32 * 1024 * 1024;
const FAULT_HEADER = 'x-sim-fault';

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
const SSE_HEADERS_CHUNKED = { ...SSE_HEADERS, 'transfer-encoding': 'chunked' };

/**
 * Writes a streamed response. On HTTP/1.1 it frames each write as one chunk itself and writes it
 * straight to the socket: measured against res.write() this halves the JavaScript cost per token
 * (res.write goes through OutgoingMessage's chunk framing and corking for every call). Headers and
 * the final chunk (res.end, which also writes the terminating chunk and handles keep-alive) still go
 * through node:http, so the response stays well-formed.
 */
class HttpSink implements ResponseSink {
  readonly #res: http.ServerResponse;
  readonly #ascii: boolean;
  #socket: Socket | null = null;

  constructor(res: http.ServerResponse, ascii: boolean) {
    this.#res = res;
    this.#ascii = ascii;
  }

  startStream(events: string): void {
    const res = this.#res;
    const chunked = res.req.httpVersionMajor === 1 && res.req.httpVersionMinor === 1;
    res.writeHead(200, chunked ? SSE_HEADERS_CHUNKED : SSE_HEADERS);
    res.flushHeaders();
    // A pipelined response that is not yet at the head of its connection has no socket: use res.write.
    this.#socket = chunked ? res.socket : null;
    if (events !== '') this.write(events);
  }

  write(events: string): void {
    const socket = this.#socket;
    if (socket === null) {
      this.#res.write(events);
      return;
    }
    if (socket.destroyed) return;
    if (this.#ascii) socket.write(`${events.length.toString(16)}\r\n${events}\r\n`, 'latin1');
    else socket.write(`${Buffer.byteLength(events).toString(16)}\r\n${events}\r\n`, 'utf8');
  }

  end(events: string): void {
    this.#res.end(events);
  }

  respond(status: number, body: string): void {
    sendJson(this.#res, status, body);
  }

  reset(): void {
    const socket = this.#res.socket;
    if (socket !== null && !socket.destroyed) socket.resetAndDestroy();
    else this.#res.destroy();
  }
}

function sendJson(
  res: http.ServerResponse,
  status: number,
  body: string,
  headers: http.OutgoingHttpHeaders = {},
): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

function sendError(res: http.ServerResponse, status: number, message: string, type: string): void {
  sendJson(res, status, errorBody(message, type, status));
}

function secretDigest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

const ERROR_TYPES: Record<number, string> = {
  400: 'BadRequestError',
  401: 'AuthenticationError',
  403: 'PermissionDeniedError',
  404: 'NotFoundError',
  408: 'RequestTimeoutError',
  409: 'ConflictError',
  422: 'UnprocessableEntityError',
  429: 'RateLimitError',
};

export interface SimServerDeps {
  options: SimOptions;
  engine: Engine;
  faultPicker: FaultPicker;
  metricsText(): Promise<{ contentType: string; text: string }>;
}

export interface SimServer {
  server: http.Server;
  sockets: Set<Socket>;
  rejected(): number;
}

export function createSimServer(deps: SimServerDeps): SimServer {
  const { options, engine, faultPicker } = deps;
  const models = new Set(options.models);
  const createdAt = Math.floor(Date.now() / 1000);
  const apiKeyDigest = options.apiKey === undefined ? undefined : secretDigest(`Bearer ${options.apiKey}`);
  const sockets = new Set<Socket>();
  let rejected = 0;

  const modelsBody = JSON.stringify({
    object: 'list',
    data: options.models.map((id) => ({
      id,
      object: 'model',
      created: createdAt,
      owned_by: 'vllm',
      root: options.models[0],
      parent: null,
      max_model_len: options.maxModelLen,
      permission: [],
    })),
  });

  const reject = (res: http.ServerResponse, status: number, message: string) => {
    rejected += 1;
    sendError(res, status, message, ERROR_TYPES[status] ?? 'BadRequestError');
  };

  const authorized = (req: http.IncomingMessage): boolean => {
    if (apiKeyDigest === undefined) return true;
    const header = req.headers.authorization;
    return header !== undefined && timingSafeEqual(secretDigest(header), apiKeyDigest);
  };

  const handleInference = (
    endpoint: Endpoint,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    arrivalMs: number,
  ): void => {
    let body = '';
    let size = 0;
    let tooLarge = false;
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else body += chunk;
    });
    req.on('end', () => {
      if (tooLarge) {
        reject(res, 413, `request body exceeds ${MAX_BODY_BYTES} bytes`);
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch (error) {
        reject(res, 400, `request body is not valid JSON: ${(error as Error).message}`);
        return;
      }
      let request: InferenceRequest;
      let plan: ReturnType<Engine['plan']>;
      let fault: Fault | undefined;
      try {
        request = parseInferenceRequest(endpoint, parsed);
        if (!models.has(request.model)) {
          reject(res, 404, `The model \`${request.model}\` does not exist.`);
          return;
        }
        plan = engine.plan(request);
        const header = options.faultHeader ? req.headers[FAULT_HEADER] : undefined;
        if (typeof header === 'string') {
          try {
            fault = parseFault(header);
          } catch (error) {
            throw new BadRequest(`${FAULT_HEADER} header: ${(error as Error).message}`);
          }
        } else {
          fault = faultPicker.next();
        }
      } catch (error) {
        if (error instanceof BadRequest) {
          reject(res, 400, error.message);
          return;
        }
        throw error;
      }
      start(request, plan, fault, res, arrivalMs);
    });
  };

  const start = (
    request: InferenceRequest,
    plan: ReturnType<Engine['plan']>,
    fault: Fault | undefined,
    res: http.ServerResponse,
    arrivalMs: number,
  ): void => {
    engine.accepted += 1;
    if (fault?.kind === 'status') {
      engine.countFault('status');
      const headers = fault.status === 429 ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
      const message = fault.status === 429 ? 'Too many requests (simulated)' : 'Simulated server error';
      const type = ERROR_TYPES[fault.status] ?? 'InternalServerError';
      sendJson(res, fault.status, errorBody(message, type, fault.status), headers);
      return;
    }
    if (fault?.kind === 'no-headers') {
      engine.countFault('no-headers');
      return; // the socket stays open until the client gives up or the simulator closes
    }
    const id = `${request.endpoint === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`;
    const created = Math.floor(Date.now() / 1000);
    const model = request.model;
    let renderer: StreamRenderer | undefined;
    let body: { complete(): string; malformed(): string } | undefined;
    if (request.stream) {
      renderer = new StreamRenderer(request.endpoint, id, created, model);
    } else {
      const render = () =>
        completionBody(
          request.endpoint,
          id,
          created,
          model,
          request.promptTokens,
          plan.outputTokens,
          plan.finishReason,
        );
      body = { complete: render, malformed: () => render().slice(0, 40) };
    }
    const sink = new HttpSink(res, renderer?.ascii ?? true);
    const generation = new Generation(engine, { request, plan, sink, renderer, body, fault, arrivalMs });
    res.on('close', () => engine.clientClosed(generation));
    if (renderer !== undefined) sink.startStream(renderer.roleEvent());
    engine.submit(generation);
  };

  const server = http.createServer(
    { keepAliveTimeout: options.keepAliveTimeoutMs, noDelay: true, requestTimeout: 0 },
    (req, res) => {
      const arrivalMs = engine.scheduler.now();
      const url = req.url ?? '/';
      const query = url.indexOf('?');
      const path = query === -1 ? url : url.slice(0, query);
      const method = req.method ?? 'GET';

      if (path.startsWith('/v1/') && method !== 'OPTIONS' && !authorized(req)) {
        rejected += 1;
        req.resume();
        sendJson(res, 401, JSON.stringify({ error: 'Unauthorized' }));
        return;
      }
      const route = (allowed: string, handler: () => void) => {
        if (method === allowed || (allowed === 'GET' && method === 'HEAD')) handler();
        else {
          req.resume();
          sendJson(res, 405, JSON.stringify({ detail: 'Method Not Allowed' }), { allow: allowed });
        }
      };
      switch (path) {
        case '/v1/chat/completions':
          return route('POST', () => handleInference('chat', req, res, arrivalMs));
        case '/v1/completions':
          return route('POST', () => handleInference('completion', req, res, arrivalMs));
        case '/v1/models':
          return route('GET', () => sendJson(res, 200, modelsBody));
        case '/health':
          return route('GET', () => res.writeHead(200, { 'content-length': 0 }).end());
        case '/ping':
          req.resume();
          if (method !== 'GET' && method !== 'POST') return route('GET', () => {});
          return void res.writeHead(200, { 'content-length': 0 }).end();
        case '/version':
          return route('GET', () => sendJson(res, 200, JSON.stringify({ version: 'loadlm-sim' })));
        case '/metrics':
          return route('GET', () => {
            deps.metricsText().then(
              ({ contentType, text }) => {
                res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
                res.end(text);
              },
              (error: Error) => sendJson(res, 500, errorBody(error.message, 'InternalServerError', 500)),
            );
          });
        default:
          req.resume();
          sendJson(res, 404, JSON.stringify({ detail: 'Not Found' }));
      }
    },
  );
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // A client that sends garbage gets a 400 from node:http; never let it crash the process.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (socket.writable && error.code !== 'ECONNRESET')
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  return { server, sockets, rejected: () => rejected };
}
