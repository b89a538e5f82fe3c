/**
 * Container processes: each runs in its own process group (session) so the executor can signal everything the
 * container started, with stdout and stderr appended to one log file. A reaper kills all live groups if the
 * executor's process dies without stopping them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

export interface ExitStatus {
  /** Exit code as a container runtime reports it: the process's code, or 128 + signal number. */
  exitCode: number;
  signal?: NodeJS.Signals;
  /** Set when the program could not be started at all (e.g. not found). */
  startError?: string;
}

export interface ContainerProcess {
  readonly pid: number;
  readonly exited: Promise<ExitStatus>;
  /** Signals the whole process group; no-op once it exited. */
  signal(signal: NodeJS.Signals): void;
}

const signalNumbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGQUIT: 3, SIGABRT: 6 };

export function spawnContainer(options: {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  logPath: string;
  reaper: Reaper;
}): ContainerProcess {
  const [program, ...args] = options.argv;
  if (!program) return failedToStart('no command specified');
  const logFd = openSync(options.logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(program, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', logFd, logFd],
    });
  } catch (error) {
    return failedToStart(`exec: "${program}": ${(error as Error).message}`);
  } finally {
    // The child has its own copy of the descriptor.
    closeSync(logFd);
  }
  const pid = child.pid;
  if (pid === undefined) {
    // The program could not be executed; 'error' follows asynchronously.
    return {
      pid: -1,
      exited: new Promise((resolve) =>
        child.once('error', (error: NodeJS.ErrnoException) =>
          resolve({ exitCode: 128, startError: startErrorMessage(program, error) }),
        ),
      ),
      signal: () => {},
    };
  }
  options.reaper.track(pid);
  let done = false;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      options.reaper.forget(pid);
      // The leader is gone; nothing it started may linger in the group.
      killGroup(pid, 'SIGKILL');
      resolve(signal ? { exitCode: 128 + (signalNumbers[signal] ?? 0), signal } : { exitCode: code ?? 0 });
    });
  });
  return {
    pid,
    exited,
    signal: (signal) => {
      if (!done) killGroup(pid, signal);
    },
  };
}

function failedToStart(message: string): ContainerProcess {
  return { pid: -1, exited: Promise.resolve({ exitCode: 128, startError: message }), signal: () => {} };
}

function startErrorMessage(program: string, error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT') return `exec: "${program}": executable file not found in $PATH`;
  if (error.code === 'EACCES') return `exec: "${program}": permission denied`;
  return `exec: "${program}": ${error.message}`;
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * A detached `sh` that reads process-group ids on stdin ("track N", "forget N") and kills every tracked
 * group when stdin closes, i.e. when the executor's process dies. A clean stop sends "exit" first.
 */
export class Reaper {
  private readonly child: ChildProcess;

  constructor() {
    const script = [
      'pgids=""',
      'while IFS= read -r line; do',
      '  set -- $line',
      '  case "$1" in',
      '    exit) exit 0 ;;',
      '    track) pgids="$pgids $2" ;;',
      '    forget) kept=""; for p in $pgids; do [ "$p" = "$2" ] || kept="$kept $p"; done; pgids=$kept ;;',
      '  esac',
      'done',
      'for p in $pgids; do kill -9 -"$p" 2>/dev/null; done',
    ].join('\n');
    this.child = spawn('/bin/sh', ['-c', script], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    this.child.unref();
    this.child.stdin?.on('error', () => {});
    (this.child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }

  track(pgid: number): void {
    this.child.stdin?.write(`track ${pgid}\n`);
  }

  forget(pgid: number): void {
    this.child.stdin?.write(`forget ${pgid}\n`);
  }

  close(): void {
    this.child.stdin?.end('exit\n');
  }
}

/** Resident memory of each process group (sum over its processes), from /proc. */
export async function groupResidentBytes(pgids: ReadonlySet<number>): Promise<Map<number, number>> {
  const totals = new Map<number, number>();
  if (pgids.size === 0) return totals;
  const entries = await readdir('/proc').catch(() => [] as string[]);
  await Promise.all(
    entries
      .filter((entry) => /^\d+$/.test(entry))
      .map(async (pid) => {
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
        if (!stat) return;
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const pgrp = Number(fields[2]);
        if (!pgids.has(pgrp)) return;
        const rssPages = Number(fields[21]);
        totals.set(pgrp, (totals.get(pgrp) ?? 0) + rssPages * 4096);
      }),
  );
  return totals;
}
