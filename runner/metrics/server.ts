/** The runner's HTTP endpoint: `/metrics` (Prometheus text), `/healthz`. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  /** e.g. `http://127.0.0.1:9090/metrics`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export class MetricsServerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricsServerError';
  }
}

/** Starts serving `registry`; `port` 0 picks a free port (see `.port`). */
export async function startMetricsServer(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${String(err)}\n`);
        },
      );
      return;
    }
    if (path === '/healthz' || path === '/readyz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; metrics are at /metrics\n');
  });
  // Scrapers reuse connections; keep them shorter-lived than a typical 15 s scrape interval × 2.
  server.keepAliveTimeout = 35_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const where = `${host}:${port}`;
      if (err.code === 'EADDRINUSE') {
        reject(
          new MetricsServerError(
            `--metrics-port ${port}: address ${where} is already in use (choose another port, or 0 for any free port)`,
          ),
        );
      } else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') {
        reject(new MetricsServerError(`--metrics-host ${host}: cannot listen on ${where} (${err.code})`));
      } else if (err.code === 'EACCES') {
        reject(new MetricsServerError(`--metrics-port ${port}: permission denied listening on ${where}`));
      } else {
        reject(new MetricsServerError(`cannot listen on ${where}: ${err.message}`));
      }
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/metrics`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
