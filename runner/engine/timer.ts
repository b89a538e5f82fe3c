/**
 * A dispatch clock for absolute schedules. Node timers have 1 ms granularity and fire late under load, so:
 * - sleep with setTimeout until about `spinMs` + 1 ms before the due time (never past it),
 * - then poll with setImmediate (the event loop keeps serving I/O between polls) until due,
 * - on each wake, the callback dispatches every slot already due in one batch and returns the next due
 *   time, so lateness never accumulates: the schedule is absolute, and lag is measured per request.
 * `spinMs = 0` disables polling (cheapest CPU, up to ~1–2 ms more lag).
 *
 * Under heavy I/O a timer is only checked once per event-loop turn, and a turn that handles hundreds of
 * socket reads can take several ms. So the caller may also `poke(t)` with a clock reading it already
 * took (the HTTP client does, once per network read): if a slot is due, the tick runs in a microtask right
 * after that read's callback instead of waiting for the timer phase. That costs one comparison per read.
 */
import { now } from './clock.ts';

/** Called at or after `due`; returns the next due time (epoch ms) or undefined to stop. */
export type TickCallback = (nowMs: number) => number | undefined;

export class PreciseTimer {
  private readonly spinMs: number;
  private due = 0;
  private cb: TickCallback | undefined;
  private timeout: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private pokeQueued = false;

  constructor(spinMs = 1) {
    this.spinMs = spinMs;
  }

  start(firstDue: number, cb: TickCallback): void {
    this.stop();
    this.cb = cb;
    this.due = firstDue;
    this.arm(now());
  }

  stop(): void {
    this.cb = undefined;
    if (this.timeout) clearTimeout(this.timeout);
    if (this.immediate) clearImmediate(this.immediate);
    this.timeout = undefined;
    this.immediate = undefined;
  }

  get running(): boolean {
    return this.cb !== undefined;
  }

  /** Runs the tick soon (in a microtask) when `nowMs`, a fresh clock reading, has reached the due time. */
  poke(nowMs: number): void {
    if (nowMs >= this.due && this.cb && !this.pokeQueued) {
      this.pokeQueued = true;
      queueMicrotask(this.tick);
    }
  }

  private readonly tick = (): void => {
    this.pokeQueued = false;
    if (this.timeout) clearTimeout(this.timeout);
    if (this.immediate) clearImmediate(this.immediate);
    this.timeout = undefined;
    this.immediate = undefined;
    const cb = this.cb;
    if (!cb) return;
    let t = now();
    if (t >= this.due) {
      const next = cb(t);
      if (next === undefined || this.cb !== cb) {
        if (this.cb === cb) this.cb = undefined;
        return;
      }
      this.due = next;
      t = now();
    }
    this.arm(t);
  };

  private arm(t: number): void {
    const wait = this.due - t;
    if (wait <= 0) {
      this.immediate = setImmediate(this.tick);
    } else if (wait > this.spinMs + 1) {
      // setTimeout(d) fires after ≥ d ms of loop time; wake ≥ 1 ms early to absorb its granularity.
      this.timeout = setTimeout(this.tick, Math.floor(wait - this.spinMs - 1) || 1);
    } else if (this.spinMs > 0) {
      this.immediate = setImmediate(this.tick);
    } else {
      this.timeout = setTimeout(this.tick, Math.max(1, Math.ceil(wait)));
    }
  }
}
