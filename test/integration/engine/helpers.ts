/** Shared pieces of the engine's integration tests: a simulator in its own process, specs, result capture. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type {
  DataSpec,
  LoadSpec,
  PhaseEvent,
  RequestResult,
  RunHooks,
  TargetSpec,
} from '../../../runner/engine/types.ts';

const root = join(import.meta.dirname, '..', '..', '..');

export interface SimProcess {
  url: string;
  child: ChildProcess;
  close(): Promise<void>;
}

/** Starts `runner/sim/process.ts` with the given flags on a free port; resolves at its READY line. */
export function startSimProcess(args: string[], timeoutMs = 15_000): Promise<SimProcess> {
  const child = spawn(process.execPath, [join(root, 'runner/sim/process.ts'), '--port', '0', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`simulator did not print READY within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /READY (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1] as string, child, close });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`simulator exited with ${code} before READY; stderr: ${stderr}`));
    });
  });
}

export const SIM_MODEL = 'mistralai/Mistral-7B-Instruct-v0.3';

export function targetFor(url: string, over: Partial<TargetSpec> = {}): TargetSpec {
  return {
    url,
    model: SIM_MODEL,
    api: 'chat',
    stream: true,
    timeouts: { connectMs: 2000, headersMs: 10_000, bodyIdleMs: 10_000 },
    maxConnections: 64,
    ...over,
  };
}

export function dataSpec(over: Partial<DataSpec> = {}): DataSpec {
  return {
    promptTokens: { kind: 'fixed', value: 64 },
    outputTokens: { kind: 'fixed', value: 8 },
    sharedPrefixTokens: 0,
    seed: 7,
    ...over,
  };
}

export function loadSpec(over: Partial<LoadSpec>): LoadSpec {
  return { profile: 'constant', warmupSeconds: 0, cooldownSeconds: 0, ...over };
}

export interface Capture {
  results: RequestResult[];
  events: PhaseEvent[];
  hooks: RunHooks;
}

export function capture(): Capture {
  const results: RequestResult[] = [];
  const events: PhaseEvent[] = [];
  return {
    results,
    events,
    hooks: { onResult: (r) => results.push(r), onPhase: (e) => events.push(e) },
  };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** The t0 the engine announced in its `start` event. */
export function startOf(events: PhaseEvent[]): number {
  const e = events.find((x) => x.kind === 'start');
  if (e?.kind !== 'start') throw new Error('no start event');
  return e.at;
}
