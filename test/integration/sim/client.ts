import { type Agent, request } from 'undici';

export const MODEL = 'mistralai/Mistral-7B-Instruct-v0.3';

export interface SseEvent {
  /** performance.now() when the bytes holding the event were read. */
  at: number;
  /** The raw event text without the trailing blank line, e.g. `data: {...}`. */
  raw: string;
}

export interface StreamResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  sentAt: number;
  events: SseEvent[];
  /** Set when the body ended with an error (reset, body timeout, ...). */
  error: (Error & { code?: string }) | undefined;
}

export interface RequestOptions {
  dispatcher?: Agent;
  headers?: Record<string, string>;
  headersTimeout?: number;
  bodyTimeout?: number;
  signal?: AbortSignal;
}

/** POSTs a JSON body and reads the response as SSE events, recording when each arrived. */
export async function streamPost(url: string, body: unknown, options: RequestOptions = {}): Promise<StreamResult> {
  const sentAt = performance.now();
  const response = await request(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...options.headers },
    dispatcher: options.dispatcher,
    headersTimeout: options.headersTimeout,
    bodyTimeout: options.bodyTimeout,
    signal: options.signal,
  });
  const result: StreamResult = {
    status: response.statusCode,
    headers: response.headers,
    sentAt,
    events: [],
    error: undefined,
  };
  let buffer = '';
  try {
    for await (const chunk of response.body) {
      const at = performance.now();
      buffer += (chunk as Buffer).toString('utf8');
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        result.events.push({ at, raw: buffer.slice(0, end) });
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
      }
    }
  } catch (error) {
    result.error = error as Error & { code?: string };
  }
  return result;
}

export async function postJson(
  url: string,
  body: unknown,
  options: RequestOptions = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const response = await request(url, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...options.headers },
    dispatcher: options.dispatcher,
    headersTimeout: options.headersTimeout,
    bodyTimeout: options.bodyTimeout,
  });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

export async function get(
  url: string,
  options: RequestOptions = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const response = await request(url, { headers: options.headers, dispatcher: options.dispatcher });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

type Chunk = {
  choices: Array<{ delta?: { role?: string; content?: string }; text?: string; finish_reason: string | null }>;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
};

/** The JSON payloads of `data:` events (not [DONE]); throws on a malformed one. */
export function chunks(result: StreamResult): Chunk[] {
  return result.events
    .filter((event) => event.raw.startsWith('data: ') && event.raw !== 'data: [DONE]')
    .map((event) => JSON.parse(event.raw.slice(6)) as Chunk);
}

/** Events carrying non-empty content (chat delta.content or completions text). */
export function contentEvents(result: StreamResult): SseEvent[] {
  return result.events.filter((event) => {
    if (!event.raw.startsWith('data: {')) return false;
    try {
      const chunk = JSON.parse(event.raw.slice(6)) as Chunk;
      const choice = chunk.choices[0];
      return Boolean(choice?.delta?.content || choice?.text);
    } catch {
      return false;
    }
  });
}

/** Waits until `condition` holds, checking every 10 ms; fails after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Value of one series in Prometheus text format, e.g. metricValue(text, 'vllm:num_requests_waiting'). */
export function metricValue(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const name = line.slice(0, space);
    if (name === series || (name.startsWith(`${series}{`) && !series.includes('{')))
      return Number(line.slice(space + 1));
  }
  return undefined;
}
