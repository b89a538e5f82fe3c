/**
 * Starts a real Prometheus (Debian's `prometheus` package, /usr/bin/prometheus) for a test: temp config and
 * TSDB directory, loopback-only listen address on a free port, short scrape interval. Reusable by any suite:
 *
 *   const prom = await startPrometheus({ scrapeTargets: [{ job: 'runner', target: '127.0.0.1:9090' }] });
 *   const series = await prom.waitForQuery('rate(guidellm_requests_total[1m])', { timeoutMs: 60_000 });
 *   await prom.stop();
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export const defaultPrometheusBinary = '/usr/bin/prometheus';

export interface ScrapeTarget {
  job: string;
  /** `host:port`. */
  target: string;
  metricsPath?: string;
  /** Extra target labels. */
  labels?: Record<string, string>;
}

export interface StartPrometheusOptions {
  scrapeTargets?: ScrapeTarget[];
  /** Default `1s`. */
  scrapeInterval?: string;
  /** Extra top-level YAML appended to the generated config (e.g. `rule_files: [...]`), already indented. */
  extraConfig?: string;
  binary?: string;
  /** Deadline for Prometheus to become ready. Default 30 s. */
  readyTimeoutMs?: number;
}

/** One element of an instant-vector result. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface QueryResult {
  resultType: string;
  result: PromSample[];
}

export interface WaitForQueryOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Accept the result only when this holds (default: non-empty). */
  until?: (result: PromSample[]) => boolean;
}

export interface RunningPrometheus {
  /** e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly dataDir: string;
  /** Instant query; throws on an API error (bad PromQL, ...). */
  query(expr: string): Promise<QueryResult>;
  /** Polls `query` until the result satisfies `until` (default non-empty) or the deadline passes. */
  waitForQuery(expr: string, options?: WaitForQueryOptions): Promise<PromSample[]>;
  /** Active scrape targets with their health (for diagnostics). */
  targets(): Promise<Array<{ scrapeUrl: string; health: string; lastError: string }>>;
  /** Output of the Prometheus process so far (for failure messages). */
  logs(): string;
  stop(): Promise<void>;
}

/** Finds the Prometheus binary or throws a message saying how to install it. */
export function findPrometheus(binary = process.env.PROMETHEUS_BIN ?? defaultPrometheusBinary): string {
  if (!existsSync(binary)) {
    throw new Error(
      `Prometheus binary not found at ${binary}. Install Debian's package (apt-get install -y prometheus; .ci/run ` +
        'does this) or point PROMETHEUS_BIN at a prometheus binary.',
    );
  }
  return binary;
}

/** A free TCP port on 127.0.0.1 (bound then released; good enough for a test process). */
export async function freePort(): Promise<number> {
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

function renderConfig(options: StartPrometheusOptions): string {
  const interval = options.scrapeInterval ?? '1s';
  const lines = ['global:', `  scrape_interval: ${interval}`, `  evaluation_interval: ${interval}`, 'scrape_configs:'];
  const targets = options.scrapeTargets ?? [];
  if (targets.length === 0) lines[lines.length - 1] = 'scrape_configs: []';
  for (const t of targets) {
    lines.push(`  - job_name: ${JSON.stringify(t.job)}`);
    lines.push(`    metrics_path: ${JSON.stringify(t.metricsPath ?? '/metrics')}`);
    lines.push(`    scrape_timeout: ${interval}`);
    lines.push('    static_configs:');
    lines.push(`      - targets: [${JSON.stringify(t.target)}]`);
    if (t.labels && Object.keys(t.labels).length > 0) {
      lines.push('        labels:');
      for (const [k, v] of Object.entries(t.labels)) lines.push(`          ${k}: ${JSON.stringify(v)}`);
    }
  }
  if (options.extraConfig) lines.push(options.extraConfig);
  return `${lines.join('\n')}\n`;
}

export async function startPrometheus(options: StartPrometheusOptions = {}): Promise<RunningPrometheus> {
  const binary = findPrometheus(options.binary);
  const dir = await mkdtemp(join(tmpdir(), 'loadlm-prometheus-'));
  const configPath = join(dir, 'prometheus.yml');
  const dataDir = join(dir, 'data');
  await writeFile(configPath, renderConfig(options));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });

  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exitPromise;
      clearTimeout(killTimer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const readyDeadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`prometheus exited during startup (code ${exited.code}, signal ${exited.signal}):\n${output}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`);
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > readyDeadline) {
      await stop();
      throw new Error(`prometheus did not become ready at ${url} within the deadline:\n${output}`);
    }
    await delay(100);
  }

  const query = async (expr: string): Promise<QueryResult> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; data?: QueryResult; error?: string; errorType?: string };
    if (body.status !== 'success' || !body.data) {
      throw new Error(`prometheus query failed: ${expr}: ${body.errorType ?? ''} ${body.error ?? res.status}`);
    }
    return body.data;
  };

  const targets = async () => {
    const res = await fetch(`${url}/api/v1/targets`);
    const body = (await res.json()) as {
      data: { activeTargets: Array<{ scrapeUrl: string; health: string; lastError: string }> };
    };
    return body.data.activeTargets.map((t) => ({ scrapeUrl: t.scrapeUrl, health: t.health, lastError: t.lastError }));
  };

  const waitForQuery = async (expr: string, waitOptions: WaitForQueryOptions = {}): Promise<PromSample[]> => {
    const deadline = Date.now() + (waitOptions.timeoutMs ?? 60_000);
    const accept = waitOptions.until ?? ((r: PromSample[]) => r.length > 0);
    let last: PromSample[] = [];
    for (;;) {
      const data = await query(expr);
      last = data.result;
      if (accept(last)) return last;
      if (Date.now() > deadline) {
        const health = await targets().catch(() => []);
        throw new Error(
          `prometheus query did not return the expected result before the deadline: ${expr}\n` +
            `last result: ${JSON.stringify(last)}\ntargets: ${JSON.stringify(health)}\nprometheus log:\n${output}`,
        );
      }
      await delay(waitOptions.intervalMs ?? 500);
    }
  };

  return { url, dataDir, query, waitForQuery, targets, logs: () => output, stop };
}
