/**
 * A loopback TCP proxy in front of the apiserver, so tests can break the operator's connection for real:
 * reset every connection (`dropAll`), refuse new ones (`refuse`), or silently kill the open ones
 * (`freezeExisting`: no byte passes and nothing is closed, like a NAT entry that vanished; new connections
 * work). TLS passes through untouched; the apiserver's certificate is for 127.0.0.1, which the proxy also is.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeConfig as KubeConfigClass } from '@kubernetes/client-node';

type Mode = 'forward' | 'refuse';

interface Pair {
  client: Socket;
  upstream: Socket;
}

export class TcpProxy {
  private readonly server: Server;
  private readonly target: { host: string; port: number };
  private readonly pairs = new Set<Pair>();
  private mode: Mode = 'forward';
  connections = 0;

  private constructor(server: Server, target: { host: string; port: number }) {
    this.server = server;
    this.target = target;
    server.on('connection', (client) => this.accept(client));
  }

  static async start(targetServer: string): Promise<TcpProxy> {
    const url = new URL(targetServer);
    const server = createServer();
    const proxy = new TcpProxy(server, { host: url.hostname, port: Number(url.port || 443) });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('proxy is not listening');
    return address.port;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** A copy of `kubeConfig` whose current cluster is reached through this proxy. */
  kubeConfigFor(kubeConfig: KubeConfig): KubeConfig {
    const current = kubeConfig.getCurrentCluster();
    if (!current) throw new Error('kubeconfig has no current cluster');
    const copy = new KubeConfigClass();
    copy.loadFromOptions({
      clusters: kubeConfig.clusters.map((cluster) =>
        cluster.name === current.name ? { ...cluster, server: this.url } : cluster,
      ),
      users: kubeConfig.users,
      contexts: kubeConfig.contexts,
      currentContext: kubeConfig.currentContext,
    });
    return copy;
  }

  /** Resets every open connection (both sides see ECONNRESET / "other side closed"). */
  dropAll(): void {
    for (const pair of [...this.pairs]) this.closePair(pair);
  }

  /** New connections are reset at once (existing ones are dropped too). */
  refuse(): void {
    this.mode = 'refuse';
    this.dropAll();
  }

  /** Open connections stop passing bytes in both directions without closing; new connections work. */
  freezeExisting(): void {
    for (const pair of this.pairs) {
      pair.client.unpipe(pair.upstream);
      pair.upstream.unpipe(pair.client);
      pair.client.pause();
      pair.upstream.pause();
    }
  }

  /** Accept and forward new connections again (after `refuse`). */
  forward(): void {
    this.mode = 'forward';
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    this.connections++;
    const upstream = connect(this.target.port, this.target.host);
    const pair = { client, upstream };
    this.pairs.add(pair);
    const onEnd = () => this.closePair(pair);
    client.on('error', onEnd).on('close', onEnd);
    upstream.on('error', onEnd).on('close', onEnd);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  private closePair(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.resetAndDestroy();
    pair.upstream.destroy();
  }
}
