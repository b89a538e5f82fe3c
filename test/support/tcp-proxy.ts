/**
 * A loopback TCP proxy that a test can cut: put it between a client (the operator) and a server (the
 * apiserver) to drop every connection at once and refuse new ones, as a network partition or an apiserver
 * restart would, then restore it. Bytes pass through untouched, so TLS is end to end: the proxy listens on
 * 127.0.0.1 like the apiserver, and its certificate (IP SAN 127.0.0.1) still verifies.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  /** Connections passed through so far. */
  readonly accepted: number;
  /** Connection attempts reset while cut. */
  readonly refused: number;
  /** Connections open now. */
  readonly open: number;
  /** Resets every open connection and every new one until restore(). */
  cut(): void;
  restore(): void;
  /** Resets every connection and stops listening. */
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let cut = false;
  let accepted = 0;
  let refused = 0;
  const server: Server = createServer((client) => {
    if (cut) {
      refused++;
      client.resetAndDestroy();
      return;
    }
    accepted++;
    const upstream = createConnection({ host: target.host, port: target.port });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      if (!client.destroyed) client.destroy();
      if (!upstream.destroyed) upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('tcp proxy: no address');
  const resetAll = () => {
    for (const [client, upstream] of pairs) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    pairs.clear();
  };
  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    get refused() {
      return refused;
    },
    get open() {
      return pairs.size;
    },
    cut() {
      cut = true;
      resetAll();
    },
    restore() {
      cut = false;
    },
    close() {
      cut = true;
      resetAll();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** `https://127.0.0.1:6443` → host and port (the default port of the scheme when none is given). */
export function hostPort(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  const port = parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port };
}
