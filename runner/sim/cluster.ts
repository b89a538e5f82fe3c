import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { AggregatorRegistry } from 'prom-client';
import { isMessage, type PrimaryMessage, WORKER_SPEC_ENV, type WorkerMessage } from './cluster-protocol.ts';
import type { SimOptions } from './options.ts';
import { type CloseOptions, formatUrl, type SimulatorHandle } from './server.ts';
import { mergeStats, type SimStats } from './stats.ts';

const WORKER_ENTRY = fileURLToPath(new URL('./cluster-worker.ts', import.meta.url));

/**
 * Runs the simulator as `options.workers` node:cluster workers sharing one port. This process stays
 * the primary: it answers the workers' /metrics requests with prom-client's AggregatorRegistry (so a
 * scrape of any worker returns the totals of all) and keeps their latest stats.
 */
export async function startClusterSimulator(options: SimOptions): Promise<SimulatorHandle> {
  if (!cluster.isPrimary) throw new Error('a simulator with workers > 1 must be started from a primary process');
  cluster.setupPrimary({
    exec: WORKER_ENTRY,
    args: [],
    // The caller's node flags (test runner, inspector, profiler) are not meant for the workers.
    execArgv: [],
  });
  const aggregator = new AggregatorRegistry();
  const workers: Worker[] = [];
  const latestStats = new Map<number, SimStats>();
  let closing = false;

  const ready = options.workers;
  let listening = 0;
  let port = 0;
  const started = new Promise<void>((resolve, reject) => {
    for (let index = 0; index < options.workers; index++) {
      const worker = cluster.fork({ [WORKER_SPEC_ENV]: JSON.stringify({ options, index, count: options.workers }) });
      workers.push(worker);
      worker.on('message', (message: unknown) => {
        if (!isMessage<WorkerMessage>(message)) return;
        switch (message.type) {
          case 'loadlm-sim:listening':
            port = message.port;
            listening += 1;
            if (listening === ready) resolve();
            return;
          case 'loadlm-sim:failed':
            reject(new Error(`simulator worker ${index} failed: ${message.message}`));
            return;
          case 'loadlm-sim:stats':
            latestStats.set(index, message.stats);
            return;
          case 'loadlm-sim:metrics-request':
            aggregator.clusterMetrics().then(
              (text) =>
                send(worker, {
                  type: 'loadlm-sim:metrics-response',
                  id: message.id,
                  contentType: aggregator.contentType,
                  text,
                }),
              (error: Error) =>
                send(worker, {
                  type: 'loadlm-sim:metrics-response',
                  id: message.id,
                  contentType: '',
                  text: '',
                  error: error.message,
                }),
            );
        }
      });
      worker.on('exit', (code, signal) => {
        if (listening < ready)
          reject(new Error(`simulator worker ${index} exited during start (code ${code}, signal ${signal})`));
        else if (!closing)
          process.stderr.write(`loadlm sim: worker ${index} exited (code ${code}, signal ${signal})\n`);
      });
    }
  });
  try {
    await started;
  } catch (error) {
    for (const worker of workers) worker.process.kill();
    throw error;
  }

  const close = async (closeOptions: CloseOptions = {}): Promise<void> => {
    closing = true;
    await Promise.all(
      workers.map(async (worker) => {
        if (worker.isDead()) return;
        const exited = new Promise((resolve) => worker.once('exit', resolve));
        send(worker, { type: 'loadlm-sim:close', graceMs: closeOptions.graceMs ?? 0 });
        await exited;
      }),
    );
  };

  return {
    url: formatUrl(options.host, port),
    port,
    close,
    stats: () => mergeStats([...latestStats.values()]),
  };
}

function send(worker: Worker, message: PrimaryMessage): void {
  if (worker.isConnected()) worker.send(message);
}
