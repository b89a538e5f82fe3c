/**
 * The quickstart's child processes: `loadlm sim` (the stand-in vLLM) and the operator (`node operator/main.ts`,
 * exactly as a user runs it, with the local cluster's kubeconfig). Their output goes to log files next to the
 * cluster's kubeconfig; stop() sends SIGTERM and waits, then SIGKILL after a grace period.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, createWriteStream, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

const repoRoot = join(import.meta.dirname, '..', '..');

export interface ChildHandle {
  readonly pid: number | undefined;
  readonly logPath: string;
  /** The last lines of the log, for error messages. */
  tail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

function handle(child: ChildProcess, logPath: string): ChildHandle {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    pid: child.pid,
    logPath,
    tail(lines = 20) {
      try {
        return readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '(no log)';
      }
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface SimulatorChild extends ChildHandle {
  readonly url: string;
}

/** Starts `loadlm sim` on a free loopback port and waits for its READY line. */
export async function startSimulatorProcess(options: {
  logDir: string;
  args: string[];
  timeoutMs?: number;
}): Promise<SimulatorChild> {
  const logPath = join(options.logDir, 'sim.log');
  const logFd = openSync(logPath, 'a');
  const child = spawn(process.execPath, [join(repoRoot, 'runner', 'main.ts'), 'sim', '--port', '0', ...options.args], {
    stdio: ['ignore', 'pipe', logFd],
  });
  closeSync(logFd);
  const simulator = handle(child, logPath);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(`did not print READY within ${timeoutMs / 1000} s`), timeoutMs);
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`loadlm sim ${why}. Its log (${logPath}):\n${simulator.tail()}`));
    };
    const onExit = (code: number | null, signal: string | null) =>
      fail(`exited before it was ready (${code ?? signal})`);
    child.once('exit', onExit);
    child.once('error', (error) => fail(`could not be started: ${error.message}`));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const match = /^READY (\S+)/.exec(line);
      if (!match?.[1]) return;
      clearTimeout(timer);
      child.removeListener('exit', onExit);
      resolve(match[1]);
    });
  });
  return { ...simulator, url };
}

/**
 * Starts the operator against the cluster of `kubeconfig`, watching all namespaces, with leader election off (one
 * replica). Resolves once its /readyz answers 200, or rejects with its log tail.
 */
export async function startOperatorProcess(options: {
  kubeconfig: string;
  logDir: string;
  args: string[];
  timeoutMs?: number;
}): Promise<ChildHandle> {
  const logPath = join(options.logDir, 'operator.log');
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'operator', 'main.ts'),
      '--http-host=127.0.0.1',
      '--http-port=0',
      '--leader-election-namespace=',
      ...options.args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: options.kubeconfig } },
  );
  const log = createWriteStream(logPath, { flags: 'a' });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  child.once('close', () => log.end());
  const operator = handle(child, logPath);
  let exited = '';
  child.once('exit', (code, signal) => {
    exited = String(code ?? signal);
  });
  // The HTTP address (port 0 picks one) is in the log line that announces the server.
  let address = '';
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    const match = /"address":"(127\.0\.0\.1:\d+)"/.exec(line);
    if (match?.[1] && !address) address = match[1];
  });
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      throw new Error(`the operator exited (${exited}) before it was ready. Its log (${logPath}):\n${operator.tail()}`);
    }
    if (address) {
      const ready = await fetch(`http://${address}/readyz`).then(
        (response) => response.status === 200,
        () => false,
      );
      if (ready) return operator;
    }
    if (Date.now() > deadline) {
      await operator.stop(1_000);
      throw new Error(
        `the operator was not ready within ${timeoutMs / 1000} s. Its log (${logPath}):\n${operator.tail()}`,
      );
    }
    await sleep(200);
  }
}
