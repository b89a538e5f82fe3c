/**
 * Delays for retries, modelled on client-go's workqueue rate limiters and wait.Backoff:
 * - ItemExponentialFailureRateLimiter: per-key exponential backoff (5 ms, 10 ms, 20 ms, ... capped at 1000 s);
 * - BucketRateLimiter: one token bucket for all keys (10 qps, burst 100), so a storm of failures cannot hot-loop;
 * - MaxOfRateLimiter: the longest delay any of them asks for (client-go's DefaultControllerRateLimiter);
 * - JitteredBackoff: reconnect delays for watches (initial × factor^n, capped, plus random jitter).
 */
import { type Clock, realClock } from './clock.ts';

export interface RateLimiter {
  /** How long to wait before `key` may be processed again; counts a failure for per-key limiters. */
  when(key: string): number;
  /** Forget the key's failures (call after a success). */
  forget(key: string): void;
  /** Failures counted for the key since the last forget. */
  numRequeues(key: string): number;
}

export class ItemExponentialFailureRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;

  constructor(baseDelayMs = 5, maxDelayMs = 1_000_000) {
    if (!(baseDelayMs > 0)) throw new Error(`baseDelayMs: expected a positive number, got ${baseDelayMs}`);
    if (!(maxDelayMs >= baseDelayMs)) {
      throw new Error(`maxDelayMs: expected at least baseDelayMs (${baseDelayMs}), got ${maxDelayMs}`);
    }
    this.baseDelayMs = baseDelayMs;
    this.maxDelayMs = maxDelayMs;
  }

  when(key: string): number {
    const exponent = this.failures.get(key) ?? 0;
    this.failures.set(key, exponent + 1);
    // 2^exponent overflows to Infinity long after it passed the cap; min() handles both.
    return Math.min(this.baseDelayMs * 2 ** exponent, this.maxDelayMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/** A token bucket shared by all keys (golang.org/x/time/rate semantics: a reservation may go into debt). */
export class BucketRateLimiter implements RateLimiter {
  private tokens: number;
  private last: number;
  readonly qps: number;
  readonly burst: number;
  private readonly clock: Clock;

  constructor(qps = 10, burst = 100, clock: Clock = realClock) {
    if (!(qps > 0)) throw new Error(`qps: expected a positive number, got ${qps}`);
    if (!(burst >= 1)) throw new Error(`burst: expected at least 1, got ${burst}`);
    this.qps = qps;
    this.burst = burst;
    this.clock = clock;
    this.tokens = burst;
    this.last = clock.now();
  }

  when(_key: string): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }

  forget(_key: string): void {}

  numRequeues(_key: string): number {
    return 0;
  }
}

export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: readonly RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    if (limiters.length === 0) throw new Error('MaxOfRateLimiter needs at least one limiter');
    this.limiters = limiters;
  }

  when(key: string): number {
    // Every limiter must see the failure (each keeps its own state), so no short-circuit.
    return this.limiters.map((limiter) => limiter.when(key)).reduce((max, delay) => Math.max(max, delay), 0);
  }

  forget(key: string): void {
    for (const limiter of this.limiters) limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.limiters.reduce((max, limiter) => Math.max(max, limiter.numRequeues(key)), 0);
  }
}

export interface ControllerRateLimiterOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  qps?: number;
  burst?: number;
  clock?: Clock;
}

/** client-go's DefaultControllerRateLimiter: per-key 5 ms .. 1000 s, overall 10 qps with burst 100. */
export function defaultControllerRateLimiter(options: ControllerRateLimiterOptions = {}): RateLimiter {
  return new MaxOfRateLimiter(
    new ItemExponentialFailureRateLimiter(options.baseDelayMs ?? 5, options.maxDelayMs ?? 1_000_000),
    new BucketRateLimiter(options.qps ?? 10, options.burst ?? 100, options.clock ?? realClock),
  );
}

/** `ms` stretched by a random factor in [1, 1 + jitter) (client-go's wait.Jitter). */
export function jitter(ms: number, maxFactor: number, random: () => number = Math.random): number {
  if (maxFactor <= 0) return ms;
  return ms + random() * maxFactor * ms;
}

export interface JitteredBackoffOptions {
  /** First delay; default 800 ms (client-go's reflector). */
  initialMs?: number;
  /** Largest delay before jitter; default 30 s. */
  maxMs?: number;
  /** Growth per attempt; default 2. */
  factor?: number;
  /** Random extra as a fraction of the delay; default 1 (up to double). */
  jitter?: number;
  random?: () => number;
}

/** Reconnect delays: initial × factor^attempt capped at max, with jitter so replicas do not retry in lockstep. */
export class JitteredBackoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly jitterFactor: number;
  private readonly random: () => number;

  constructor(options: JitteredBackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 800;
    this.maxMs = options.maxMs ?? 30_000;
    this.factor = options.factor ?? 2;
    this.jitterFactor = options.jitter ?? 1;
    this.random = options.random ?? Math.random;
    if (!(this.initialMs > 0)) throw new Error(`initialMs: expected a positive number, got ${this.initialMs}`);
    if (!(this.maxMs >= this.initialMs)) throw new Error(`maxMs: expected at least initialMs, got ${this.maxMs}`);
    if (!(this.factor >= 1)) throw new Error(`factor: expected at least 1, got ${this.factor}`);
  }

  /** The next delay; each call counts one more failed attempt. */
  next(): number {
    const base = Math.min(this.initialMs * this.factor ** this.attempt, this.maxMs);
    this.attempt++;
    return jitter(base, this.jitterFactor, this.random);
  }

  /** Back to the initial delay (after a success). */
  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
