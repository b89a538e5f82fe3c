/**
 * The runtime's Prometheus metrics, named like controller-runtime's and client-go's so existing dashboards and
 * alerts work: controller_runtime_reconcile_*, workqueue_*, leader_election_master_status, rest_client_*.
 * One RuntimeMetrics per prom-client Registry (two managers in one process use two registries).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { WorkQueue, WorkQueueMetricsHooks } from './workqueue.ts';

const reconcileBuckets = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 7.5,
  10, 15, 20, 30, 45, 60,
];
/** client-go's workqueue buckets: 1 µs × 10^n up to 10 s. */
const queueBuckets = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10];
const requestBuckets = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];

export type ReconcileResultLabel = 'success' | 'error' | 'requeue' | 'requeue_after';

/** What the REST client reports per request. */
export interface RestClientMetricsHooks {
  request(method: string, code: string, seconds: number): void;
}

export class RuntimeMetrics implements RestClientMetricsHooks {
  readonly registry: Registry;
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly terminalReconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly maxConcurrentReconciles: Gauge<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly leaderStatus: Gauge<'name'>;
  readonly restRequests: Counter<'method' | 'code'>;
  readonly restRequestDuration: Histogram<'method'>;
  readonly informerLists: Counter<'resource' | 'reason'>;
  readonly informerWatchRestarts: Counter<'resource' | 'reason'>;
  private readonly queueDepth: Gauge<'name' | 'controller'>;
  private readonly queueAdds: Counter<'name' | 'controller'>;
  private readonly queueLatency: Histogram<'name' | 'controller'>;
  private readonly workDuration: Histogram<'name' | 'controller'>;
  private readonly queueRetries: Counter<'name' | 'controller'>;
  private readonly queues = new Map<string, () => WorkQueue | undefined>();

  /** Registers the runtime's metrics (and, unless `processMetrics: false`, Node's process metrics) on `registry`. */
  constructor(registry: Registry = new Registry(), options: { processMetrics?: boolean } = {}) {
    this.registry = registry;
    const registers = [registry];
    if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });

    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.terminalReconcileErrors = new Counter({
      name: 'controller_runtime_terminal_reconcile_errors_total',
      help: 'Total number of terminal reconciliation errors per controller (not retried)',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: reconcileBuckets,
      registers,
    });
    this.maxConcurrentReconciles = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers,
    });
    this.activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    });
    this.leaderStatus = new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of whether this replica is the leader (1) or not (0), per lease name',
      labelNames: ['name'],
      registers,
    });
    this.restRequests = new Counter({
      name: 'rest_client_requests_total',
      help: 'Number of HTTP requests to the Kubernetes API, partitioned by method and status code (<error> when no response)',
      labelNames: ['method', 'code'],
      registers,
    });
    this.restRequestDuration = new Histogram({
      name: 'rest_client_request_duration_seconds',
      help: 'Kubernetes API request latency until the response headers arrived, by method',
      labelNames: ['method'],
      buckets: requestBuckets,
      registers,
    });
    this.informerLists = new Counter({
      name: 'loadlm_informer_lists_total',
      help: 'Full lists made by informers, by resource and reason (initial, gone, stalled, error)',
      labelNames: ['resource', 'reason'],
      registers,
    });
    this.informerWatchRestarts = new Counter({
      name: 'loadlm_informer_watch_restarts_total',
      help: 'Watch restarts by resource and reason (ended, error, gone, stalled)',
      labelNames: ['resource', 'reason'],
      registers,
    });

    const queueLabels: ('name' | 'controller')[] = ['name', 'controller'];
    this.queueDepth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: queueLabels,
      registers,
    });
    this.queueAdds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: queueLabels,
      registers,
    });
    this.queueLatency = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: queueLabels,
      buckets: queueBuckets,
      registers,
    });
    this.workDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: queueLabels,
      buckets: queueBuckets,
      registers,
    });
    this.queueRetries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: queueLabels,
      registers,
    });
    const queues = this.queues;
    new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help:
        'How many seconds of work has been done that is in progress and has not been observed by work_duration. ' +
        'Large values indicate stuck threads.',
      labelNames: queueLabels,
      registers,
      collect() {
        for (const [name, current] of queues) {
          this.set({ name, controller: name }, current()?.unfinishedWorkSeconds() ?? 0);
        }
      },
    });
    new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: queueLabels,
      registers,
      collect() {
        for (const [name, current] of queues) {
          this.set({ name, controller: name }, current()?.longestRunningProcessorSeconds() ?? 0);
        }
      },
    });
  }

  /** Metric hooks for the queue named `name` (the controller's name); `current` returns the live queue, if any. */
  workQueueHooks(name: string, current: () => WorkQueue | undefined): WorkQueueMetricsHooks {
    this.queues.set(name, current);
    const labels = { name, controller: name };
    this.queueDepth.set(labels, 0);
    return {
      added: () => this.queueAdds.inc(labels),
      depth: (depth) => this.queueDepth.set(labels, depth),
      queued: (seconds) => this.queueLatency.observe(labels, seconds),
      worked: (seconds) => this.workDuration.observe(labels, seconds),
      retried: () => this.queueRetries.inc(labels),
    };
  }

  request(method: string, code: string, seconds: number): void {
    this.restRequests.inc({ method, code });
    this.restRequestDuration.observe({ method }, seconds);
  }

  /** Sum of rest_client_requests_total, optionally for one method (for benchmarks and tests). */
  async restRequestCount(method?: string): Promise<number> {
    const { values } = await this.restRequests.get();
    return values
      .filter((value) => method === undefined || value.labels.method === method)
      .reduce((sum, value) => sum + value.value, 0);
  }
}
