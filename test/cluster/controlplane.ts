/**
 * Starts the local control plane (embedded etcd, kube-apiserver with RBAC, kube-controller-manager) built from
 * test/controlplane, and hands back a cluster handle. The harness dies with this process: it watches its stdin
 * (held here) and has a parent-death signal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBinaries } from './build.ts';
import { ClusterClient, type ClusterHandle } from './cluster-handle.ts';

export interface StartClusterOptions {
  /** How long the harness may take to print READY; default 3 min (the first start after a build is slower). */
  readyTimeoutMs?: number;
  /** Where kubeconfig, CA and logs go; default a new temp dir, removed at stop. */
  dir?: string;
  /** klog verbosity of apiserver/controller-manager in controlplane.log; default 0. */
  logVerbosity?: number;
}

export interface LocalCluster extends ClusterHandle {
  /** Holds kubeconfig, ca.crt and controlplane.log (apiserver + controller-manager logs). */
  readonly dir: string;
  readonly binDir: string;
  /** Kubernetes version of apiserver and kubectl, e.g. v1.34.4. */
  readonly version: string;
  readonly logPath: string;
  /** Deletes namespaces created through this handle, then stops the control plane. */
  stop(): Promise<void>;
}

interface ReadyLine {
  ready: boolean;
  kubeconfig: string;
  server: string;
  caFile: string;
  version: string;
}

export async function startCluster(options: StartClusterOptions = {}): Promise<LocalCluster> {
  const binaries = await ensureBinaries();
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'loadlm-cluster-'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const logPath = join(dir, 'controlplane.log');
  const logFd = openSync(logPath, 'a');
  const child = spawn(
    binaries.controlplane,
    [`-dir=${dir}`, '-exit-on-stdin-close', `-log-verbosity=${options.logVerbosity ?? 0}`],
    { stdio: ['pipe', 'pipe', logFd] },
  );
  closeSync(logFd);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let ready: ReadyLine;
  try {
    ready = await waitForReady(child, logPath, options.readyTimeoutMs ?? 180_000);
  } catch (error) {
    await terminate(child);
    process.removeListener('exit', killOnExit);
    throw error;
  }

  const cluster = new RunningCluster(ready, binaries.kubectl, {
    dir,
    binDir: binaries.binDir,
    logPath,
    stopProcess: async () => {
      await terminate(child);
      process.removeListener('exit', killOnExit);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  });
  try {
    await waitHealthy(cluster, logPath);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

class RunningCluster extends ClusterClient implements LocalCluster {
  readonly dir: string;
  readonly binDir: string;
  readonly version: string;
  readonly logPath: string;
  private readonly stopProcess: () => Promise<void>;
  private stopped: Promise<void> | undefined;

  constructor(
    ready: ReadyLine,
    kubectlPath: string,
    parts: { dir: string; binDir: string; logPath: string; stopProcess: () => Promise<void> },
  ) {
    super(ready.kubeconfig, ready.server, kubectlPath);
    this.dir = parts.dir;
    this.binDir = parts.binDir;
    this.version = ready.version;
    this.logPath = parts.logPath;
    this.stopProcess = parts.stopProcess;
  }

  override stop(): Promise<void> {
    this.stopped ??= super.stop().then(this.stopProcess);
    return this.stopped;
  }
}

function waitForReady(child: ChildProcess, logPath: string, timeoutMs: number): Promise<ReadyLine> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`local control plane ${why}. Last lines of ${logPath}:\n${tail(logPath, 40)}`));
    };
    const timer = setTimeout(() => fail(`did not become ready within ${timeoutMs / 1000}s`), timeoutMs);
    // Keep draining stdout after READY so the harness never blocks on a full pipe.
    lines.on('line', (line) => {
      if (!line.startsWith('{"ready"')) {
        // The harness is a Go test binary: failures (t.Fatal) are reported on stdout.
        appendFileSync(logPath, `${line}\n`);
        return;
      }
      clearTimeout(timer);
      child.removeListener('exit', onExit);
      resolve(JSON.parse(line) as ReadyLine);
    });
    const onExit = (code: number | null, signal: string | null) =>
      fail(`exited before it was ready (${code ?? signal})`);
    child.once('exit', onExit);
    child.once('error', (error) => fail(`could not be started: ${error.message}`));
  });
}

/** The harness waits for the default ServiceAccount; this also checks /readyz from the outside with the kubeconfig. */
async function waitHealthy(client: ClusterClient, logPath: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    const result = await client.kubectl(['get', '--raw', '/readyz'], { allowFailure: true, timeoutMs: 10_000 });
    if (result.code === 0 && result.stdout.trim() === 'ok') return;
    last = result.stderr || result.stdout;
    await sleep(200);
  }
  throw new Error(`apiserver not ready within 60s: ${last}\nLast lines of ${logPath}:\n${tail(logPath, 40)}`);
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end();
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
