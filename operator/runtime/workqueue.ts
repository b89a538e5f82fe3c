/**
 * A rate-limited delaying work queue with client-go/controller-runtime semantics:
 * - items are reconcile keys (`namespace/name`); a key queued twice is queued once;
 * - a key being processed is never handed out again until `done(key)`; adding it meanwhile marks it dirty and
 *   it is queued again at `done`;
 * - `addAfter` delays an add (the earliest pending time wins); `addRateLimited` delays by the rate limiter;
 * - `shutDown()` stops handing out work (waiting `get()`s resolve undefined), drops delayed adds, and resolves
 *   once every key being processed is done.
 */
import { defaultControllerRateLimiter, type RateLimiter } from './backoff.ts';
import { type Clock, realClock, type TimerHandle } from './clock.ts';

/** Hooks for queue metrics; seconds as floats (Prometheus convention). */
export interface WorkQueueMetricsHooks {
  added(): void;
  depth(depth: number): void;
  /** Time between the add and the `get` that handed the key out. */
  queued(seconds: number): void;
  /** Time between `get` and `done`. */
  worked(seconds: number): void;
  retried(): void;
}

export interface WorkQueueOptions {
  /** Used in metrics and errors. */
  name: string;
  clock?: Clock;
  rateLimiter?: RateLimiter;
  metrics?: WorkQueueMetricsHooks;
}

interface Waiter {
  resolve(key: string | undefined): void;
}

interface DelayedAdd {
  readyAt: number;
  timer: TimerHandle;
}

export class WorkQueue {
  readonly name: string;
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter;
  private readonly metrics: WorkQueueMetricsHooks | undefined;

  /** FIFO of keys ready to be handed out (each also in `dirty`). */
  private queue: string[] = [];
  private head = 0;
  /** Keys that need processing: queued, or re-added while processing. */
  private readonly dirty = new Set<string>();
  /** Keys handed out and not yet done, with the time they were handed out. */
  private readonly processing = new Map<string, number>();
  /** When each dirty key was first added (for queue latency). */
  private readonly addedAt = new Map<string, number>();
  private readonly delayed = new Map<string, DelayedAdd>();
  private readonly waiters: Waiter[] = [];
  private shuttingDown = false;
  private drainWaiters: (() => void)[] = [];

  constructor(options: WorkQueueOptions) {
    this.name = options.name;
    this.clock = options.clock ?? realClock;
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter({ clock: this.clock });
    this.metrics = options.metrics;
  }

  /** Queues `key` unless it is already queued; a key being processed is re-queued when it is done. */
  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.dirty.has(key)) return;
    this.metrics?.added();
    this.dirty.add(key);
    this.addedAt.set(key, this.clock.now());
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds `key` after `delayMs`; if it is already waiting, the earlier time wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const readyAt = this.clock.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing && existing.readyAt <= readyAt) return;
    if (existing) this.clock.clearTimeout(existing.timer);
    const timer = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { readyAt, timer });
  }

  /** Adds `key` after the rate limiter's delay (per-key exponential backoff combined with the overall bucket). */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.metrics?.retried();
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Resets the key's backoff (call after a successful reconcile). */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** The next key to process, waiting for one if needed; undefined once the queue is shutting down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.pop();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.waiters.push({ resolve }));
  }

  /** Marks `key` processed; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    const startedAt = this.processing.get(key);
    if (startedAt === undefined) return;
    this.processing.delete(key);
    this.metrics?.worked((this.clock.now() - startedAt) / 1000);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
    if (this.processing.size === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Keys waiting to be handed out (client-go's Len). */
  len(): number {
    return this.queue.length - this.head;
  }

  /** Keys handed out and not yet done. */
  processingCount(): number {
    return this.processing.size;
  }

  /** Keys waiting for an `addAfter`/`addRateLimited` delay. */
  delayedCount(): number {
    return this.delayed.size;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Stops handing out work: waiting and future `get()`s resolve undefined, adds are ignored, delayed adds are
   * dropped. Resolves when every key being processed is done.
   */
  shutDown(): Promise<void> {
    if (!this.shuttingDown) {
      this.shuttingDown = true;
      for (const { timer } of this.delayed.values()) this.clock.clearTimeout(timer);
      this.delayed.clear();
      for (const waiter of this.waiters.splice(0)) waiter.resolve(undefined);
      this.metrics?.depth(0);
    }
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Seconds of work in progress not yet observed by `worked` (client-go's unfinished_work_seconds). */
  unfinishedWorkSeconds(): number {
    const now = this.clock.now();
    let total = 0;
    for (const startedAt of this.processing.values()) total += now - startedAt;
    return total / 1000;
  }

  /** How long the longest-running key has been processed, in seconds. */
  longestRunningProcessorSeconds(): number {
    const now = this.clock.now();
    let longest = 0;
    for (const startedAt of this.processing.values()) longest = Math.max(longest, now - startedAt);
    return longest / 1000;
  }

  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.handOut(key);
      waiter.resolve(key);
      return;
    }
    this.queue.push(key);
    this.metrics?.depth(this.len());
  }

  private pop(): string | undefined {
    if (this.head >= this.queue.length) return undefined;
    const key = this.queue[this.head] as string;
    this.head++;
    // Compact now and then so the array does not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.metrics?.depth(this.len());
    this.handOut(key);
    return key;
  }

  private handOut(key: string): void {
    const now = this.clock.now();
    const addedAt = this.addedAt.get(key);
    if (addedAt !== undefined) this.metrics?.queued((now - addedAt) / 1000);
    this.addedAt.delete(key);
    this.dirty.delete(key);
    this.processing.set(key, now);
  }
}
