/**
 * The operator's HTTP endpoints: `/healthz` (the process serves), `/readyz` (every named check passes, e.g.
 * "caches synced"), `/metrics` (the prom-client registry). Failing checks are listed in the response body.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** A named check: returns true when fine, or a string saying what is wrong. */
export type HealthCheck = () => true | string;

export interface HealthServerOptions {
  registry: Registry;
  readyChecks: Record<string, HealthCheck>;
  healthChecks?: Record<string, HealthCheck>;
}

export class HealthServer {
  private readonly server: Server;
  private readonly options: HealthServerOptions;

  constructor(options: HealthServerOptions) {
    this.options = options;
    this.server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path === '/healthz' || path === '/livez') {
        this.respondChecks(response, this.options.healthChecks ?? {});
      } else if (path === '/readyz') {
        this.respondChecks(response, this.options.readyChecks);
      } else if (path === '/metrics') {
        this.options.registry.metrics().then(
          (text) => response.writeHead(200, { 'content-type': this.options.registry.contentType }).end(text),
          (error: unknown) =>
            response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${error}\n`),
        );
      } else {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      }
    });
    // Probes and scrapes are short; do not let idle keep-alive sockets hold shutdown up.
    this.server.keepAliveTimeout = 5_000;
  }

  /** Listens; port 0 picks a free port. Resolves with the bound address. */
  listen(port: number, host = '0.0.0.0'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  address(): AddressInfo | undefined {
    const address = this.server.address();
    return address && typeof address === 'object' ? address : undefined;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private respondChecks(response: import('node:http').ServerResponse, checks: Record<string, HealthCheck>): void {
    const failures: string[] = [];
    for (const [name, check] of Object.entries(checks)) {
      let result: true | string;
      try {
        result = check();
      } catch (error) {
        result = String(error);
      }
      if (result !== true) failures.push(`[-]${name} failed: ${result}`);
    }
    if (failures.length === 0) {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else {
      response.writeHead(503, { 'content-type': 'text/plain' }).end(`${failures.join('\n')}\n`);
    }
  }
}
