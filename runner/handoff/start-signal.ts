/**
 * The runner's side of the start barrier: wait until the operator's start signal ConfigMap says `Start` (with
 * the agreed time) or `Abort`, never past the startup deadline. List + watch by name, re-listing after every
 * watch end or error (410 included) with a capped backoff; a watch error never loses the signal because each
 * round starts with a fresh list.
 */
import { type ConfigMapApi, KubeApiError } from './kube-api.ts';
import { parseStartSignal, type StartSignal } from './protocol.ts';

export interface WaitForStartOptions {
  api: ConfigMapApi;
  namespace: string;
  /** The start signal ConfigMap (flag --start-signal). */
  name: string;
  /** Epoch ms after which waiting fails with StartDeadlineError. */
  deadlineMs: number;
  /** Stops waiting (e.g. SIGTERM); rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Server-side length of each watch; default 20 s (client-node-style idle limits are 30 s). */
  watchTimeoutSeconds?: number;
  /** Called when a list or watch failed and is retried (for a log line). */
  onRetry?(error: Error): void;
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
}

/** The operator gave up on the test before the start (e.g. another runner failed). */
export class StartAbortedError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(`the operator aborted the test before the start: ${reason}: ${message}`);
    this.name = 'StartAbortedError';
    this.reason = reason;
  }
}

/** No start signal by the startup deadline. */
export class StartDeadlineError extends Error {
  constructor(name: string, deadlineMs: number) {
    super(
      `no start signal in ConfigMap ${name} by the startup deadline (${new Date(deadlineMs).toISOString()}): ` +
        'the other runners did not all become ready in time',
    );
    this.name = 'StartDeadlineError';
  }
}

/** Resolves with the agreed start time (epoch ms; it may already have passed if this runner was slow). */
export async function waitForStartSignal(o: WaitForStartOptions): Promise<{ startAtMs: number }> {
  const deadline = new AbortController();
  const remaining = o.deadlineMs - Date.now();
  const timer = setTimeout(() => deadline.abort(), Math.max(0, remaining));
  timer.unref?.();
  const stopped = o.signal ? AbortSignal.any([o.signal, deadline.signal]) : deadline.signal;
  let delay = o.retryDelayMs ?? 500;
  const maxDelay = o.maxRetryDelayMs ?? 5000;
  try {
    for (;;) {
      let decided: StartSignal | undefined;
      const round = new AbortController();
      const roundSignal = AbortSignal.any([stopped, round.signal]);
      try {
        if (remaining <= 0) throw new StartDeadlineError(o.name, o.deadlineMs);
        const { configMap, resourceVersion } = await o.api.getByName(o.namespace, o.name, stopped);
        decided = configMap ? parseStartSignal(configMap) : undefined;
        if (!decided) {
          stopped.throwIfAborted();
          const secondsLeft = Math.ceil((o.deadlineMs - Date.now()) / 1000);
          await o.api.watchByName(o.namespace, o.name, {
            resourceVersion,
            timeoutSeconds: Math.max(1, Math.min(o.watchTimeoutSeconds ?? 20, secondsLeft)),
            signal: roundSignal,
            onEvent: (type, object) => {
              if (type === 'DELETED') return;
              const signal = parseStartSignal(object);
              if (signal) {
                decided = signal;
                round.abort();
              }
            },
          });
        }
      } catch (error) {
        if (!decided) {
          if (o.signal?.aborted) throw o.signal.reason ?? error;
          if (deadline.signal.aborted || error instanceof StartDeadlineError) {
            throw new StartDeadlineError(o.name, o.deadlineMs);
          }
          if (isPermanent(error)) throw describe(error, o);
          o.onRetry?.(error as Error);
          await sleep(Math.min(delay, maxDelay), stopped);
          delay *= 2;
          continue;
        }
      }
      if (decided) return settle(decided, o.name);
      delay = o.retryDelayMs ?? 500; // a clean watch end: re-list at once
      if (o.signal?.aborted) throw o.signal.reason ?? new Error('aborted');
      if (deadline.signal.aborted) throw new StartDeadlineError(o.name, o.deadlineMs);
    }
  } finally {
    clearTimeout(timer);
  }
}

function settle(signal: StartSignal, name: string): { startAtMs: number } {
  if (signal.kind === 'start') return { startAtMs: signal.startAtMs };
  if (signal.kind === 'abort') throw new StartAbortedError(signal.reason, signal.message);
  throw new Error(`the start signal in ConfigMap ${name} is invalid: ${signal.problem}`);
}

/** 401/403 (RBAC) and 404 (no such namespace) will not heal by waiting. */
function isPermanent(error: unknown): boolean {
  return error instanceof KubeApiError && (error.status === 401 || error.status === 403 || error.status === 404);
}

function describe(error: unknown, o: WaitForStartOptions): Error {
  const e = error as KubeApiError;
  if (e.status === 403) {
    return new Error(
      `cannot read the start signal ConfigMap ${o.namespace}/${o.name}: forbidden. The runner's ServiceAccount ` +
        `needs get, list and watch on it (the operator's runner Role grants them): ${e.message}`,
    );
  }
  return new Error(`cannot read the start signal ConfigMap ${o.namespace}/${o.name}: ${e.message}`);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
