import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { Engine } from './engine.ts';
import { FaultPicker } from './faults.ts';
import { createSimServer } from './http.ts';
import { SimMetrics } from './metrics.ts';
import type { SimOptions } from './options.ts';
import { TickScheduler } from './scheduler.ts';
import type { SimStats } from './stats.ts';

export interface CloseOptions {
  /** Let running and waiting requests finish for up to this long before cutting connections (default 0). */
  graceMs?: number;
}

export interface SimulatorHandle {
  /** Base URL, e.g. http://127.0.0.1:8000 (append /v1/chat/completions). */
  url: string;
  port: number;
  /** Stops accepting connections, ends every open socket and resolves once they are all closed. */
  close(options?: CloseOptions): Promise<void>;
  /** Counters for tests and benchmarks; with workers > 1 a snapshot at most ~250 ms old. */
  stats(): SimStats;
}

export interface LocalRole {
  /** This process's share when the simulator runs as several cluster workers. */
  workerIndex: number;
  workerCount: number;
  processMetrics: boolean;
  /** Overrides /metrics (cluster workers serve the aggregate of all workers). */
  metricsText?: () => Promise<{ contentType: string; text: string }>;
}

export function formatUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** maxNumSeqs split over workers: the first workers take the remainder. */
export function workerShare(total: number, index: number, count: number): number {
  return Math.floor(total / count) + (index < total % count ? 1 : 0);
}

export interface LocalSimulator extends SimulatorHandle {
  registry: Registry;
}

/** Runs the simulator in this process (one worker's share when part of a cluster). */
export async function startLocalSimulator(options: SimOptions, role: LocalRole): Promise<LocalSimulator> {
  const scheduler = new TickScheduler(options.tickMs);
  const seed = options.seed + role.workerIndex * 7919;
  let engine: Engine | undefined;
  const metrics = new SimMetrics(
    {
      model: options.models[0] as string,
      maxModelLen: options.maxModelLen,
      kvCacheTokens: workerShare(options.kvCacheTokens, role.workerIndex, role.workerCount),
      processMetrics: role.processMetrics,
    },
    {
      running: () => engine?.running ?? 0,
      waiting: () => engine?.waiting ?? 0,
      kvTokens: () => engine?.kvTokens() ?? 0,
    },
  );
  engine = new Engine(
    { ...options, seed, maxNumSeqs: workerShare(options.maxNumSeqs, role.workerIndex, role.workerCount) },
    metrics,
    scheduler,
  );
  const liveEngine = engine;
  const { server, sockets, rejected } = createSimServer({
    options,
    engine: liveEngine,
    faultPicker: new FaultPicker(options.faults, seed),
    metricsText:
      role.metricsText ??
      (async () => ({ contentType: metrics.registry.contentType, text: await metrics.registry.metrics() })),
  });

  server.listen({ host: options.host, port: options.port, backlog: 4096 });
  try {
    await once(server, 'listening');
  } catch (error) {
    metrics.stop();
    throw new Error(`cannot listen on ${formatUrl(options.host, options.port)}: ${(error as Error).message}`);
  }
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  const close = (closeOptions: CloseOptions = {}): Promise<void> => {
    closing ??= (async () => {
      const closed = once(server, 'close');
      server.close();
      server.closeIdleConnections();
      const deadline = performance.now() + (closeOptions.graceMs ?? 0);
      while (liveEngine.running + liveEngine.waiting > 0 && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      scheduler.stop();
      metrics.stop();
      const socketsClosed = [...sockets].map((socket) => once(socket, 'close'));
      for (const socket of sockets) socket.destroy();
      await Promise.all([closed, ...socketsClosed]);
    })();
    return closing;
  };

  const stats = (): SimStats => ({
    accepted: liveEngine.accepted,
    rejected: rejected(),
    completed: liveEngine.completed,
    aborted: liveEngine.aborted,
    running: liveEngine.running,
    waiting: liveEngine.waiting,
    maxWaiting: liveEngine.maxWaiting,
    promptTokens: metrics.promptTokens.value(),
    generationTokens: metrics.generationTokens.value(),
    faults: { ...liveEngine.faultCounts },
    openConnections: sockets.size,
    lateness: liveEngine.lateness.summary(),
  });

  return { url: formatUrl(options.host, port), port, close, stats, registry: metrics.registry };
}
