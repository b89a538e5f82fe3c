/** Something that wants to run at a deadline; `now` is the scheduler's clock when it runs. */
export interface Timed {
  onDue(now: number): void;
}

/**
 * A tick wheel: deadlines are rounded up to the next tick and everything due in one tick runs from a
 * single timer callback, instead of one setTimeout per token. Items never run before their deadline
 * (a tick runs only once the clock has passed its end); they run at most about one tick plus timer
 * latency late.
 */
export class TickScheduler {
  readonly #tickMs: number;
  readonly #clock: () => number;
  readonly #slots = new Map<number, Timed[]>();
  /** Min-heap of the tick numbers that have a slot. */
  readonly #ticks: number[] = [];
  #timer: NodeJS.Timeout | undefined;
  #armedTick = Number.POSITIVE_INFINITY;
  #pending = 0;

  constructor(tickMs: number, clock: () => number = () => performance.now()) {
    this.#tickMs = tickMs;
    this.#clock = clock;
  }

  get pending(): number {
    return this.#pending;
  }

  now(): number {
    return this.#clock();
  }

  schedule(item: Timed, dueMs: number): void {
    const tick = Math.ceil(dueMs / this.#tickMs);
    let slot = this.#slots.get(tick);
    if (slot === undefined) {
      slot = [];
      this.#slots.set(tick, slot);
      this.#push(tick);
      if (tick < this.#armedTick) this.#arm();
    }
    slot.push(item);
    this.#pending += 1;
  }

  /** Drops everything scheduled (used on close). */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedTick = Number.POSITIVE_INFINITY;
    this.#slots.clear();
    this.#ticks.length = 0;
    this.#pending = 0;
  }

  /** Runs every item whose tick has fully elapsed. Exposed for tests that drive a fake clock. */
  runDue(): void {
    const now = this.#clock();
    const lastElapsed = Math.floor(now / this.#tickMs);
    while (this.#ticks.length > 0 && (this.#ticks[0] as number) <= lastElapsed) {
      const tick = this.#pop();
      const slot = this.#slots.get(tick) as Timed[];
      this.#slots.delete(tick);
      this.#pending -= slot.length;
      for (const item of slot) item.onDue(now);
    }
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#armedTick = Number.POSITIVE_INFINITY;
    this.runDue();
    this.#arm();
  };

  #arm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedTick = Number.POSITIVE_INFINITY;
    if (this.#ticks.length === 0) return;
    const tick = this.#ticks[0] as number;
    // Node timers have whole-millisecond resolution and truncate; round up so a timer rarely fires early.
    const delay = Math.max(1, Math.ceil(tick * this.#tickMs - this.#clock()));
    this.#timer = setTimeout(this.#fire, delay);
    this.#armedTick = tick;
  }

  #push(tick: number): void {
    const heap = this.#ticks;
    let i = heap.push(tick) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as number) <= tick) break;
      heap[i] = heap[parent] as number;
      i = parent;
    }
    heap[i] = tick;
  }

  #pop(): number {
    const heap = this.#ticks;
    const top = heap[0] as number;
    const last = heap.pop() as number;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && (heap[right] as number) < (heap[left] as number) ? right : left;
        if ((heap[child] as number) >= last) break;
        heap[i] = heap[child] as number;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}
