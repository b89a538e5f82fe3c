/** Runs `loadlm` as a real subprocess and watches its output, with deadlines. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const mainPath = fileURLToPath(new URL('../../../runner/main.ts', import.meta.url));

export interface LoadlmProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** JSON log lines from stderr. */
  logs(): Array<Record<string, unknown>>;
  /** Resolves with the first log line matching, or rejects at the deadline. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves once stderr matches `pattern`, or rejects at the deadline or on exit. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Same for stdout. */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (signal exits reject), killing the process at the deadline. */
  exited(timeoutMs?: number): Promise<number>;
}

export function startLoadlm(args: string[], env: NodeJS.ProcessEnv = {}): LoadlmProcess {
  const child = spawn(process.execPath, [mainPath, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  const notify = () => {
    for (const w of waiters.splice(0)) w();
  };
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
    notify();
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
    notify();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
      notify();
    });
  });
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exit.then((e) => {
    exitInfo = e;
  });
  const logs = () =>
    err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  const describe = () => `stdout:\n${out}\nstderr:\n${err}`;
  const waitForText = (text: () => string, name: string, pattern: RegExp, timeoutMs = 30_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} did not match ${pattern} within ${timeoutMs} ms\n${describe()}`)),
        timeoutMs,
      );
      const check = () => {
        if (pattern.test(text())) {
          clearTimeout(timer);
          resolve();
        } else if (exitInfo) {
          clearTimeout(timer);
          reject(
            new Error(`loadlm exited (${JSON.stringify(exitInfo)}) before ${name} matched ${pattern}\n${describe()}`),
          );
        } else {
          waiters.push(check);
        }
      };
      check();
    });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    logs,
    waitForLog: (match, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching log line within ${timeoutMs} ms\n${describe()}`)),
          timeoutMs,
        );
        const check = () => {
          const found = logs().find(match);
          if (found) {
            clearTimeout(timer);
            resolve(found);
          } else if (exitInfo) {
            clearTimeout(timer);
            reject(
              new Error(`loadlm exited (${JSON.stringify(exitInfo)}) before the log line appeared\n${describe()}`),
            );
          } else {
            waiters.push(check);
          }
        };
        check();
      }),
    waitForStderr: (pattern, timeoutMs) => waitForText(() => err, 'stderr', pattern, timeoutMs),
    waitForStdout: (pattern, timeoutMs) => waitForText(() => out, 'stdout', pattern, timeoutMs),
    exited: async (timeoutMs = 60_000) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const e = await exit;
      clearTimeout(timer);
      if (e.code === null)
        throw new Error(`loadlm was killed by ${e.signal} (deadline ${timeoutMs} ms)\n${describe()}`);
      return e.code;
    },
  };
}

/** Runs to completion and returns exit code and output. */
export async function runLoadlm(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string; logs: Array<Record<string, unknown>> }> {
  const p = startLoadlm(args, env);
  const code = await p.exited(timeoutMs);
  return { code, stdout: p.stdout(), stderr: p.stderr(), logs: p.logs() };
}
