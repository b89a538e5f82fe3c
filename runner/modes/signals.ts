/**
 * SIGTERM/SIGINT handling: the first signal aborts `controller` (stop sending, let in-flight requests finish
 * within the grace period, then write reports); a second signal exits at once.
 */
import { exitCodeForSignal } from '../cli/exit-codes.ts';

export interface SignalWatch {
  /** Aborted on the first SIGTERM/SIGINT. */
  readonly signal: AbortSignal;
  /** The first signal received, if any. */
  received(): NodeJS.Signals | undefined;
  dispose(): void;
}

export interface SignalWatchOptions {
  onFirst?(signal: NodeJS.Signals): void;
  /** Called before exiting on the second signal (must be synchronous). */
  onSecond?(signal: NodeJS.Signals): void;
  /** For tests; default process.exit. */
  exit?(code: number): void;
}

export function watchSignals(options: SignalWatchOptions = {}): SignalWatch {
  const controller = new AbortController();
  let first: NodeJS.Signals | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (first === undefined) {
      first = signal;
      options.onFirst?.(signal);
      controller.abort(new Error(`received ${signal}`));
      return;
    }
    options.onSecond?.(signal);
    (options.exit ?? process.exit)(exitCodeForSignal(first));
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return {
    signal: controller.signal,
    received: () => first,
    dispose: () => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
    },
  };
}

/** Resolves after `ms`, or early (false) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve(false);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
