/**
 * Chunk-arrival buffers for in-flight streams, reused across requests.
 *
 * A stream records one time per content chunk (128 for a 128-token stream). A growing number[] per request
 * is young-generation garbage that survives scavenges while the stream is open, and scavenge pauses grow
 * with what survives: they are the main cause of dispatch lag at high rates. Reused Float64Arrays keep
 * their backing stores off the V8 heap and make recording a chunk allocation-free.
 */

/** Buffers larger than this are not kept for reuse (a long stream should not pin its memory). */
const MAX_POOLED_LENGTH = 1024;
/** At most this many idle buffers are kept (≤ 8 MiB). */
const MAX_POOLED = 1024;
const MIN_LENGTH = 16;
/**
 * A new buffer holds at most this many times up front (2 KiB), however many tokens were asked for:
 * 10,000 streams of 100,000 requested tokens must not reserve memory for tokens that have not arrived.
 */
const MAX_INITIAL_LENGTH = 256;

export class TimelinePool {
  private readonly free: Float64Array[] = [];

  /** A buffer for about `expected` chunks (it grows if more arrive). */
  take(expected: number): Float64Array {
    const want = Math.min(Math.max(MIN_LENGTH, expected), MAX_INITIAL_LENGTH);
    const free = this.free;
    for (let i = free.length - 1; i >= 0; i--) {
      const b = free[i] as Float64Array;
      if (b.length >= want) {
        free[i] = free[free.length - 1] as Float64Array;
        free.pop();
        return b;
      }
    }
    return new Float64Array(want);
  }

  give(b: Float64Array): void {
    if (b.length <= MAX_POOLED_LENGTH && this.free.length < MAX_POOLED) this.free.push(b);
  }
}

/** The times of one stream's content chunks, in order. */
export class Timeline {
  times: Float64Array;
  count = 0;
  private readonly pool: TimelinePool;

  constructor(pool: TimelinePool, expected: number) {
    this.pool = pool;
    this.times = pool.take(expected);
  }

  push(t: number): void {
    if (this.count === this.times.length) {
      const bigger = new Float64Array(Math.max(MIN_LENGTH, this.times.length * 2));
      bigger.set(this.times);
      this.pool.give(this.times);
      this.times = bigger;
    }
    this.times[this.count++] = t;
  }

  /** Returns the buffer for reuse; the timeline must not be used afterwards. */
  release(): void {
    this.pool.give(this.times);
    this.times = EMPTY;
    this.count = 0;
  }
}

const EMPTY = new Float64Array(0);
