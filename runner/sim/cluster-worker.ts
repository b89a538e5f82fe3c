/** Entry point of one node:cluster worker of a multi-worker simulator (started by cluster.ts). */
import { AggregatorRegistry } from 'prom-client';
import {
  isMessage,
  type PrimaryMessage,
  WORKER_SPEC_ENV,
  type WorkerMessage,
  type WorkerSpec,
} from './cluster-protocol.ts';
import { startLocalSimulator } from './server.ts';

const spec = JSON.parse(process.env[WORKER_SPEC_ENV] ?? 'null') as WorkerSpec | null;
if (spec === null || typeof process.send !== 'function') {
  process.stderr.write('cluster-worker.ts is started by the simulator, not directly\n');
  process.exit(2);
}

const send = (message: WorkerMessage, callback?: () => void) => {
  if (process.connected) process.send?.(message, undefined, undefined, callback);
};

const pendingMetrics = new Map<
  number,
  { resolve(value: { contentType: string; text: string }): void; reject(error: Error): void }
>();
let nextMetricsId = 0;

try {
  const simulator = await startLocalSimulator(spec.options, {
    workerIndex: spec.index,
    workerCount: spec.count,
    processMetrics: true,
    metricsText: () =>
      new Promise((resolve, reject) => {
        const id = nextMetricsId++;
        pendingMetrics.set(id, { resolve, reject });
        send({ type: 'loadlm-sim:metrics-request', id });
      }),
  });
  // Constructing an AggregatorRegistry installs prom-client's answer to the primary's metrics requests.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([simulator.registry]);

  const statsTimer = setInterval(() => send({ type: 'loadlm-sim:stats', stats: simulator.stats() }), 250);
  statsTimer.unref();

  process.on('message', (message: unknown) => {
    if (!isMessage<PrimaryMessage>(message)) return;
    if (message.type === 'loadlm-sim:metrics-response') {
      const pending = pendingMetrics.get(message.id);
      pendingMetrics.delete(message.id);
      if (message.error !== undefined) pending?.reject(new Error(message.error));
      else pending?.resolve({ contentType: message.contentType, text: message.text });
      return;
    }
    if (message.type === 'loadlm-sim:close') {
      clearInterval(statsTimer);
      void simulator.close({ graceMs: message.graceMs }).then(() => {
        send({ type: 'loadlm-sim:stats', stats: simulator.stats() }, () => process.exit(0));
      });
    }
  });
  // The primary went away: do not linger as an orphan.
  process.on('disconnect', () => process.exit(0));
  // Ctrl-C reaches the whole process group; the primary decides how to close (grace period).
  process.on('SIGINT', () => {});
  send({ type: 'loadlm-sim:listening', port: simulator.port });
} catch (error) {
  send({ type: 'loadlm-sim:failed', message: (error as Error).message }, () => process.exit(1));
}
