/**
 * The slice of the kubelet's HTTPS API that `kubectl logs` (pods/log through the apiserver) needs:
 * `GET /containerLogs/{namespace}/{pod}/{container}` with follow, tailLines and limitBytes. Listens on 127.0.0.1
 * only; the Node's status advertises the port.
 */
import { open, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { logTail } from './status.ts';

export interface ContainerLog {
  path: string;
  /** Set while the container has not started: the kubelet refuses logs then. */
  waitingReason?: string;
  /** Whether more output may still come (the container has not terminated). */
  running(): boolean;
}

export interface KubeletServer {
  port: number;
  close(): Promise<void>;
}

export async function startKubeletServer(options: {
  cert: Buffer;
  key: Buffer;
  find(namespace: string, pod: string, container: string): ContainerLog | undefined;
}): Promise<KubeletServer> {
  const server: Server = createServer({ cert: options.cert, key: options.key }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const match = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'GET' || !match) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('the loadlm pod executor serves only /containerLogs\n');
      return;
    }
    const [, namespace = '', pod = '', container = ''] = match.map(decodeURIComponent);
    if (url.searchParams.get('previous') === 'true') {
      res
        .writeHead(400, { 'Content-Type': 'text/plain' })
        .end(`previous terminated container "${container}" not found\n`);
      return;
    }
    const log = options.find(namespace, pod, container);
    if (!log) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`container "${container}" in pod "${pod}" not found\n`);
      return;
    }
    if (log.waitingReason !== undefined) {
      res
        .writeHead(400, { 'Content-Type': 'text/plain' })
        .end(`container "${container}" in pod "${pod}" is waiting to start: ${log.waitingReason}\n`);
      return;
    }
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    void streamLog(log, {
      follow: url.searchParams.get('follow') === 'true',
      tailLines: numberParam(url.searchParams.get('tailLines')),
      limitBytes: numberParam(url.searchParams.get('limitBytes')),
      write: (chunk) => res.write(chunk),
      signal: abort.signal,
    })
      .catch(() => {})
      .finally(() => res.end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function numberParam(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

async function streamLog(
  log: ContainerLog,
  options: {
    follow: boolean;
    tailLines: number | undefined;
    limitBytes: number | undefined;
    write: (chunk: Buffer) => void;
    signal: AbortSignal;
  },
): Promise<void> {
  let budget = options.limitBytes ?? Number.POSITIVE_INFINITY;
  const emit = (chunk: Buffer) => {
    const part = chunk.length > budget ? chunk.subarray(0, budget) : chunk;
    budget -= part.length;
    if (part.length > 0) options.write(part);
  };
  const handle = await open(log.path, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    let offset = 0;
    if (options.tailLines !== undefined) {
      const whole = await handle.readFile();
      offset = whole.length;
      const tail = logTail(whole.toString('utf8'), options.tailLines, Number.POSITIVE_INFINITY);
      emit(Buffer.from(tail ? `${tail}\n` : ''));
    }
    for (;;) {
      const size = (await stat(log.path)).size;
      while (offset < size && budget > 0) {
        const { bytesRead, buffer } = await handle.read({ buffer: Buffer.alloc(64 * 1024), position: offset });
        if (bytesRead === 0) break;
        offset += bytesRead;
        emit(buffer.subarray(0, bytesRead));
      }
      if (!options.follow || budget <= 0 || options.signal.aborted) return;
      if (!log.running() && offset >= (await stat(log.path)).size) return;
      await sleep(200, undefined, { signal: options.signal }).catch(() => {});
    }
  } finally {
    await handle.close();
  }
}
