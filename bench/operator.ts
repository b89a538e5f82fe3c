/**
 * `npm run bench:operator`: the operator's control-plane work against the real local control plane
 * (test/cluster: etcd, kube-apiserver, kube-controller-manager). No pod executor: runner pods stay Pending, so
 * this measures what the operator does up to "Job created, runners starting", not a run.
 *
 * Prints:
 *   1. apply → Job created, p50/p99: 50 LoadTests created one at a time, from the create call returning to the
 *      Job's ADDED event on a watch;
 *   2. the time from sending 200 creates at once until all 200 have Jobs;
 *   3. operator RSS with 1,000 LoadTests (and their Jobs, Pods, ConfigMaps, ...) cached;
 *   4. API requests per LoadTest lifecycle (create → runner objects + Job → status while pods are Pending);
 *   5. API requests per minute while idle, Lease renewals apart from the rest.
 * Targets: p50 < 100 ms, no hot loops (idle requests only from resync/Lease), RSS ≤ 150 MB.
 *
 * The operator runs as a child process (`node <flags> operator/main.ts`, production defaults but a log level of
 * warn) so its RSS and request counts are its own; figures come from its /metrics and /proc/<pid>/status. The
 * node flags are those of main.ts's shebang line (what the image's `loadlm-operator` entry point runs with), or
 * $BENCH_OPERATOR_NODE_FLAGS to try others. Whole run: about four minutes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient, type WatchEvent } from '../operator/runtime/kube-client.ts';
import { connectionFromKubeconfig } from '../operator/runtime/kube-config.ts';
import { type KubeObject, resources } from '../operator/runtime/resources.ts';
import type { LocalCluster } from '../test/cluster/index.ts';
import { startCluster } from '../test/cluster/index.ts';
import { installCrds } from '../test/support/crds.ts';

const root = join(import.meta.dirname, '..');
const SEQUENTIAL = 50;
const BURST = 200;
const CACHED = 1_000;
const FILL_CONCURRENCY = 20;
const IDLE_SECONDS = 60;
const loadTestLabel = 'loadlm.dev/loadtest';
const operatorMain = join(root, 'operator', 'main.ts');

/** `#!/usr/bin/env -S node --flag ...` → ['--flag', ...]: the operator runs with the flags it ships with. */
function operatorNodeFlags(): string[] {
  const fromEnv = process.env.BENCH_OPERATOR_NODE_FLAGS;
  if (fromEnv !== undefined) return fromEnv.split(/\s+/).filter(Boolean);
  const shebang = readFileSync(operatorMain, 'utf8').split('\n', 1)[0] ?? '';
  const words = shebang.replace(/^#!/, '').trim().split(/\s+/);
  const node = words.findIndex((word) => word === 'node' || word.endsWith('/node'));
  return node === -1 ? [] : words.slice(node + 1).filter((word) => word.startsWith('--'));
}

// ---------------------------------------------------------------- helpers

function log(message: string): void {
  process.stderr.write(`[bench:operator] ${message}\n`);
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function machine(): string {
  const [one, five] = loadavg();
  return `load average ${one?.toFixed(2)} (1 min) ${five?.toFixed(2)} (5 min)`;
}

/** A LoadTest that renders fine but never runs here (no executor); a long startup deadline keeps it waiting. */
function loadTest(namespace: string, name: string): KubeObject & { spec: unknown } {
  return {
    apiVersion: 'loadlm.dev/v1alpha1',
    kind: 'LoadTest',
    metadata: { name, namespace },
    spec: {
      targets: [{ name: 'sim', url: 'http://127.0.0.1:9/v1', model: 'bench-model' }],
      load: { profile: 'constant', rate: 1, durationSeconds: 10 },
      data: { promptTokens: { type: 'fixed', value: 32 }, outputTokens: { type: 'fixed', value: 16 } },
      startupDeadlineSeconds: 3600,
    },
  };
}

// ---------------------------------------------------------------- the operator in a child process

interface Samples {
  /** `name{labels}` → value */
  values: Map<string, number>;
}

class OperatorProcess {
  readonly child: ChildProcess;
  readonly port: number;
  private readonly output: string[] = [];
  private exited = false;
  private readonly killOnExit = () => this.child.kill('SIGKILL');

  private constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.port = port;
    const keep = (chunk: Buffer) => {
      this.output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      if (this.output.length > 200) this.output.splice(0, this.output.length - 200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', () => {
      this.exited = true;
    });
    process.once('exit', this.killOnExit);
  }

  static async start(cluster: LocalCluster, namespace: string): Promise<OperatorProcess> {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        ...operatorNodeFlags(),
        operatorMain,
        `--namespaces=${namespace}`,
        `--leader-election-namespace=${namespace}`,
        `--http-port=${port}`,
        '--http-host=127.0.0.1',
        '--log-level=warn',
        '--runner-image=ghcr.io/loadlm/loadlm:bench',
      ],
      { cwd: root, env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const operator = new OperatorProcess(child, port);
    await operator.waitUntil('operator ready and leading', 60_000, async () => {
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      if (!ready?.ok) return false;
      return sum(await operator.scrape(), 'leader_election_master_status') === 1;
    });
    return operator;
  }

  /** VmRSS of the operator process: what process.memoryUsage().rss reports inside it. */
  rssBytes(): number {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    if (!match) throw new Error(`no VmRSS in /proc/${this.child.pid}/status`);
    return Number(match[1]) * 1024;
  }

  /** User + system CPU seconds of the operator process so far (/proc/<pid>/stat, USER_HZ = 100). */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  }

  async scrape(): Promise<Samples> {
    if (this.exited) throw new Error(`the operator exited:\n${this.output.join('\n')}`);
    const response = await fetch(`http://127.0.0.1:${this.port}/metrics`);
    const text = await response.text();
    const values = new Map<string, number>();
    for (const line of text.split('\n')) {
      const match = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
      if (match?.[1] && match[2]) values.set(match[1], Number(match[2]));
    }
    return { values };
  }

  /** Polls `check` (operator endpoints only, not the apiserver) until it holds or the deadline passes. */
  async waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exited) throw new Error(`the operator exited while waiting for ${what}:\n${this.output.join('\n')}`);
      if (await check().catch(() => false)) return;
      if (Date.now() > deadline) {
        throw new Error(`${what}: not within ${timeoutMs} ms; operator output:\n${this.output.join('\n')}`);
      }
      await sleep(200);
    }
  }

  /**
   * Waits until the operator has made no API request other than Lease renewals for `quietMs` and its work queue
   * is empty: everything it had to do for what exists has been done.
   */
  async waitSettled(what: string, timeoutMs: number, quietMs = 3_000): Promise<Samples> {
    let last = -1;
    let since = Date.now();
    let samples: Samples | undefined;
    await this.waitUntil(`${what} to settle`, timeoutMs, async () => {
      samples = await this.scrape();
      const requests = requestCounts(samples).other;
      const depth = sum(samples, 'workqueue_depth');
      if (requests !== last || depth > 0) {
        last = requests;
        since = Date.now();
        return false;
      }
      return Date.now() - since >= quietMs;
    });
    if (!samples) throw new Error('no samples');
    return samples;
  }

  warnings(): string[] {
    return this.output.filter((line) => /"level":(40|50|60)/.test(line));
  }

  async stop(): Promise<void> {
    process.removeListener('exit', this.killOnExit);
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 40_000);
    await exited;
    clearTimeout(timer);
  }
}

function sum(samples: Samples, name: string, labels?: (labels: string) => boolean): number {
  let total = 0;
  for (const [key, value] of samples.values) {
    const brace = key.indexOf('{');
    const metric = brace === -1 ? key : key.slice(0, brace);
    if (metric !== name) continue;
    if (labels && !labels(brace === -1 ? '' : key.slice(brace))) continue;
    total += value;
  }
  return total;
}

/** rest_client_requests_total split: the Lease is the operator's only PUT (leader-election.ts). */
function requestCounts(samples: Samples): { total: number; lease: number; other: number } {
  const total = sum(samples, 'rest_client_requests_total');
  const lease = sum(samples, 'rest_client_requests_total', (labels) => labels.includes('method="PUT"'));
  return { total, lease, other: total - lease };
}

function methodDeltas(before: Samples, after: Samples): Map<string, number> {
  const methods = new Map<string, number>();
  for (const [key, value] of after.values) {
    if (!key.startsWith('rest_client_requests_total{')) continue;
    const method = /method="([^"]*)"/.exec(key)?.[1] ?? '?';
    const delta = value - (before.values.get(key) ?? 0);
    if (delta !== 0) methods.set(method, (methods.get(method) ?? 0) + delta);
  }
  return methods;
}

/** e.g. `PATCH 475, POST 160`; the Lease's PUTs left out. */
function byMethod(before: Samples, after: Samples): string {
  const text = [...methodDeltas(before, after)]
    .filter(([method]) => method !== 'PUT')
    .sort((a, b) => b[1] - a[1])
    .map(([method, count]) => `${method} ${count}`)
    .join(', ');
  return text || 'none';
}

function reconciles(samples: Samples): number {
  return sum(samples, 'controller_runtime_reconcile_total');
}

// ---------------------------------------------------------------- Jobs seen through a watch

/** Records when each LoadTest's Job was first seen, from one list + watch of the operator's Jobs. */
class JobWatcher {
  private readonly seenAt = new Map<string, number>();
  private readonly waiters = new Map<string, Array<(at: number) => void>>();
  private readonly countWaiters: Array<{ count: number; resolve: (at: number) => void }> = [];
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;

  private readonly client: KubeClient;
  private readonly namespace: string;

  constructor(client: KubeClient, namespace: string) {
    this.client = client;
    this.namespace = namespace;
  }

  get count(): number {
    return this.seenAt.size;
  }

  async start(): Promise<void> {
    let connected!: () => void;
    const ready = new Promise<void>((resolve) => {
      connected = resolve;
    });
    this.running = this.loop(connected).catch((error: unknown) => {
      if (!this.abort.signal.aborted) log(`job watch failed: ${(error as Error).message}`);
    });
    await ready;
  }

  private async loop(connected: () => void): Promise<void> {
    const selector = loadTestLabel;
    let resourceVersion: string | undefined;
    while (!this.abort.signal.aborted) {
      if (resourceVersion === undefined) {
        const list = await this.client.list(resources.jobs, { namespace: this.namespace, labelSelector: selector });
        for (const job of list.items) this.saw(job);
        resourceVersion = list.metadata?.resourceVersion;
      }
      let gone = false;
      await this.client.watch(
        resources.jobs,
        {
          namespace: this.namespace,
          labelSelector: selector,
          ...(resourceVersion ? { resourceVersion } : {}),
          allowWatchBookmarks: true,
          timeoutSeconds: 300,
          signal: this.abort.signal,
          onConnected: connected,
        },
        (event: WatchEvent) => {
          if (event.type === 'ERROR') {
            gone = true;
            return;
          }
          const object = event.object as KubeObject;
          resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
          if (event.type === 'ADDED' || event.type === 'MODIFIED') this.saw(object);
        },
      );
      if (gone) resourceVersion = undefined;
    }
  }

  private saw(job: KubeObject): void {
    const owner = job.metadata?.labels?.[loadTestLabel];
    if (!owner || this.seenAt.has(owner)) return;
    const at = performance.now();
    this.seenAt.set(owner, at);
    for (const resolve of this.waiters.get(owner) ?? []) resolve(at);
    this.waiters.delete(owner);
    for (let i = this.countWaiters.length - 1; i >= 0; i--) {
      const waiter = this.countWaiters[i];
      if (waiter && this.seenAt.size >= waiter.count) {
        this.countWaiters.splice(i, 1);
        waiter.resolve(at);
      }
    }
  }

  /** performance.now() when the Job of LoadTest `name` was first seen. */
  jobOf(name: string, timeoutMs: number): Promise<number> {
    const at = this.seenAt.get(name);
    if (at !== undefined) return Promise.resolve(at);
    return withTimeout(`Job of LoadTest ${name}`, timeoutMs, (resolve) => {
      const list = this.waiters.get(name) ?? [];
      list.push(resolve);
      this.waiters.set(name, list);
    });
  }

  /** performance.now() when `count` LoadTests had Jobs. */
  total(count: number, timeoutMs: number): Promise<number> {
    if (this.seenAt.size >= count) return Promise.resolve(performance.now());
    return withTimeout(`${count} Jobs (seen ${this.seenAt.size})`, timeoutMs, (resolve) => {
      this.countWaiters.push({ count, resolve });
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }
}

function withTimeout(what: string, timeoutMs: number, register: (resolve: (at: number) => void) => void) {
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs} ms`)), timeoutMs);
    register((at) => {
      clearTimeout(timer);
      resolve(at);
    });
  });
}

async function createAll(client: KubeClient, namespace: string, names: string[], concurrency: number) {
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++];
      if (name) await client.create(resources.loadTests, loadTest(namespace, name));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
}

// ---------------------------------------------------------------- the bench

async function main(): Promise<void> {
  const startedAt = Date.now();
  const out = (line: string) => {
    process.stdout.write(`${line}\n`);
  };
  out('bench:operator — loadlm-operator against the local control plane (no pod executor: pods stay Pending)');
  out(`node ${process.version}, ${availableParallelism()} cores, at start: ${machine()}`);
  out(`operator node flags: ${operatorNodeFlags().join(' ') || 'none'}`);

  log('starting the local control plane');
  const cluster = await startCluster();
  let operator: OperatorProcess | undefined;
  let watcher: JobWatcher | undefined;
  let client: KubeClient | undefined;
  try {
    out(`control plane ${cluster.version}`);
    await installCrds(cluster);
    const namespace = await cluster.createNamespace('bench-operator');
    client = KubeClient.fromConnection(await connectionFromKubeconfig(cluster.kubeconfigPath), {
      userAgent: 'loadlm-bench',
    });
    watcher = new JobWatcher(client, namespace);
    await watcher.start();

    log('starting the operator (child process)');
    operator = await OperatorProcess.start(cluster, namespace);
    const baseline = await operator.waitSettled('startup', 30_000);
    const rssEmpty = operator.rssBytes();

    // 1. apply → Job created, one at a time
    log(`1/5: ${SEQUENTIAL} LoadTests one at a time`);
    const latencies: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const name = `seq-${i}`;
      await client.create(resources.loadTests, loadTest(namespace, name));
      const created = performance.now();
      const seen = await watcher.jobOf(name, 30_000);
      latencies.push(Math.max(0, seen - created));
    }
    latencies.sort((a, b) => a - b);
    const p50 = quantile(latencies, 0.5);
    const p99 = quantile(latencies, 0.99);
    const afterSequential = await operator.waitSettled('sequential LoadTests', 60_000);

    // 2. a burst of 200
    log(`2/5: ${BURST} LoadTests at once`);
    const burstNames = Array.from({ length: BURST }, (_, i) => `burst-${i}`);
    const burstStart = performance.now();
    await createAll(client, namespace, burstNames, BURST);
    const burstCreated = performance.now();
    const burstDone = await watcher.total(SEQUENTIAL + BURST, 120_000);
    const afterBurst = await operator.waitSettled('burst', 120_000);

    // 3. fill up to 1,000 and let every cache settle
    const fillCount = CACHED - SEQUENTIAL - BURST;
    log(`3/5: ${fillCount} more LoadTests (${FILL_CONCURRENCY} creates in flight) up to ${CACHED}`);
    const fillStart = performance.now();
    await createAll(
      client,
      namespace,
      Array.from({ length: fillCount }, (_, i) => `fill-${i}`),
      FILL_CONCURRENCY,
    );
    await watcher.total(CACHED, 180_000);
    const fillJobs = performance.now();
    const afterFill = await operator.waitSettled(`${CACHED} LoadTests`, 150_000);
    const fillSettled = performance.now();
    const pods = await client.list(resources.pods, { namespace, labelSelector: loadTestLabel });
    const rssFull = operator.rssBytes();
    const heapUsed = sum(afterFill, 'nodejs_heap_size_used_bytes');
    const heapTotal = sum(afterFill, 'nodejs_heap_size_total_bytes');

    // 5. idle
    log(`4-5/5: ${IDLE_SECONDS} s idle`);
    const idleStart = await operator.scrape();
    const idleStartedAt = performance.now();
    const idleCpuStart = operator.cpuSeconds();
    await sleep(IDLE_SECONDS * 1000);
    const idleEnd = await operator.scrape();
    const idleMinutes = (performance.now() - idleStartedAt) / 60_000;
    const idleCpuShare = (operator.cpuSeconds() - idleCpuStart) / (idleMinutes * 60);
    const idleRss = operator.rssBytes();

    // ---------------------------------------------------------------- report
    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
    const other = (a: Samples, b: Samples) => requestCounts(b).other - requestCounts(a).other;
    const verdict = (ok: boolean) => (ok ? 'OK' : 'MISSED');

    out('');
    out(
      `1. apply → Job created (${SEQUENTIAL} LoadTests one at a time; create returned → Job ADDED on a watch): ` +
        `p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, min ${latencies[0]?.toFixed(1)} ms, ` +
        `max ${latencies.at(-1)?.toFixed(1)} ms   target p50 < 100 ms: ${verdict(p50 < 100)}`,
    );
    out(
      `2. ${BURST} LoadTests created at once: all creates returned after ${(burstCreated - burstStart).toFixed(0)} ms, ` +
        `all ${BURST} Jobs after ${(burstDone - burstStart).toFixed(0)} ms`,
    );
    out(
      `   (fill: ${fillCount} more at ${FILL_CONCURRENCY} in flight had Jobs after ` +
        `${((fillJobs - fillStart) / 1000).toFixed(1)} s; operator settled after ` +
        `${((fillSettled - fillStart) / 1000).toFixed(1)} s)`,
    );
    out(
      `3. operator RSS (child process, /proc/<pid>/status VmRSS = its process.memoryUsage().rss): ` +
        `${mb(rssFull)} with ${CACHED} LoadTests cached (+ their Jobs, ${pods.items.length} Pending Pods, ` +
        `ConfigMaps, Services, RBAC); ${mb(rssEmpty)} with none; ${mb(idleRss)} after the idle minute; ` +
        `V8 heap used ${mb(heapUsed)} of ${mb(heapTotal)}   target ≤ 150 MB: ${verdict(rssFull <= 150 * 1024 * 1024)}`,
    );
    out(
      `4. API requests per LoadTest lifecycle, Lease renewals excluded (create → runner config, RBAC, Service, ` +
        `result placeholder, Job → status while the runner pod is Pending; no start, results, finish or cleanup ` +
        `without pods running):`,
    );
    out(
      `   one at a time: ${(other(baseline, afterSequential) / SEQUENTIAL).toFixed(2)} ` +
        `(${byMethod(baseline, afterSequential)}; ` +
        `${reconciles(afterSequential) - reconciles(baseline)} reconciles for ${SEQUENTIAL})`,
    );
    out(
      `   burst of ${BURST}: ${(other(afterSequential, afterBurst) / BURST).toFixed(2)}; ` +
        `fill of ${fillCount}: ${(other(afterBurst, afterFill) / fillCount).toFixed(2)}`,
    );
    const idleMethods = methodDeltas(idleStart, idleEnd);
    const idleLease = (idleMethods.get('PUT') ?? 0) / idleMinutes;
    const idleWatches = (idleMethods.get('WATCH') ?? 0) / idleMinutes;
    const idleRest = [...idleMethods].filter(([method]) => method !== 'PUT' && method !== 'WATCH');
    const idleRestCount = idleRest.reduce((total, [, count]) => total + count, 0) / idleMinutes;
    out(
      `5. API requests per minute while idle (${(idleMinutes * 60).toFixed(0)} s, ${CACHED} LoadTests waiting for ` +
        `runners): ${(idleLease + idleWatches + idleRestCount).toFixed(1)} in total = ${idleLease.toFixed(1)} Lease ` +
        `renewals (PUT) + ${idleWatches.toFixed(1)} informer watch re-establishments (WATCH) + ` +
        `${idleRestCount.toFixed(1)} other${idleRest.length > 0 ? ` (${idleRest.map(([m, c]) => `${m} ${c}`).join(', ')})` : ''}`,
    );
    out(
      `   operator CPU while idle ${(idleCpuShare * 100).toFixed(1)}% of a core; ` +
        `${((reconciles(idleEnd) - reconciles(idleStart)) / idleMinutes).toFixed(0)} reconciles/min (event-driven: ` +
        `a waiting LoadTest is requeued only for its deadlines, here an hour away)   target no hot loops (idle ` +
        `requests only from Lease/resync/watches): ${verdict(idleRestCount === 0)}`,
    );
    const warnings = operator.warnings();
    if (warnings.length > 0) {
      out(`operator warnings/errors: ${warnings.length}; last: ${warnings.at(-1)?.slice(0, 300)}`);
    }
    out(`at end: ${machine()}; bench took ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
  } finally {
    log('cleaning up');
    await operator?.stop().catch((error: unknown) => log(`operator stop: ${error}`));
    await watcher?.stop().catch(() => {});
    await client?.close();
    await cluster.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:operator failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
