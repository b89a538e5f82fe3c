/** Counters the simulator keeps for tests and benchmarks (`stats()`); cheap to update per write. */
export interface SimStats {
  /** Inference requests that passed validation. */
  accepted: number;
  /** Requests rejected with 400/401/404/413 before reaching the engine. */
  rejected: number;
  completed: number;
  /** Requests whose client went away before the end. */
  aborted: number;
  running: number;
  waiting: number;
  /** Highest number of requests waiting at once. */
  maxWaiting: number;
  promptTokens: number;
  generationTokens: number;
  faults: Record<string, number>;
  openConnections: number;
  /** How late writes went out against their deadline (timer granularity + event-loop load). */
  lateness: LatenessSummary;
}

export interface LatenessSummary {
  writes: number;
  meanMs: number;
  p99Ms: number;
  maxMs: number;
}

const BUCKET_MS = 0.1;
const BUCKETS = 2000;

/** Fixed 0.1 ms buckets up to 200 ms, enough to tell a healthy event loop from a saturated one. */
export class LatenessRecorder {
  readonly #counts = new Uint32Array(BUCKETS + 1);
  #writes = 0;
  #sum = 0;
  #max = 0;

  record(latenessMs: number): void {
    const value = Math.max(latenessMs, 0);
    this.#writes += 1;
    this.#sum += value;
    if (value > this.#max) this.#max = value;
    const index = Math.min(BUCKETS, Math.floor(value / BUCKET_MS));
    this.#counts[index] = (this.#counts[index] as number) + 1;
  }

  summary(): LatenessSummary {
    let p99Ms = 0;
    if (this.#writes > 0) {
      const target = Math.ceil(this.#writes * 0.99);
      let seen = 0;
      for (let i = 0; i <= BUCKETS; i++) {
        seen += this.#counts[i] as number;
        if (seen >= target) {
          p99Ms = i === BUCKETS ? this.#max : Math.min(this.#max, (i + 1) * BUCKET_MS);
          break;
        }
      }
    }
    return { writes: this.#writes, meanMs: this.#writes === 0 ? 0 : this.#sum / this.#writes, p99Ms, maxMs: this.#max };
  }
}

/** Sums the stats of several workers (max for the maxima). */
export function mergeStats(all: readonly SimStats[]): SimStats {
  const merged: SimStats = {
    accepted: 0,
    rejected: 0,
    completed: 0,
    aborted: 0,
    running: 0,
    waiting: 0,
    maxWaiting: 0,
    promptTokens: 0,
    generationTokens: 0,
    faults: {},
    openConnections: 0,
    lateness: { writes: 0, meanMs: 0, p99Ms: 0, maxMs: 0 },
  };
  let latenessSum = 0;
  for (const stats of all) {
    merged.accepted += stats.accepted;
    merged.rejected += stats.rejected;
    merged.completed += stats.completed;
    merged.aborted += stats.aborted;
    merged.running += stats.running;
    merged.waiting += stats.waiting;
    merged.maxWaiting += stats.maxWaiting;
    merged.promptTokens += stats.promptTokens;
    merged.generationTokens += stats.generationTokens;
    merged.openConnections += stats.openConnections;
    for (const [fault, count] of Object.entries(stats.faults))
      merged.faults[fault] = (merged.faults[fault] ?? 0) + count;
    merged.lateness.writes += stats.lateness.writes;
    latenessSum += stats.lateness.meanMs * stats.lateness.writes;
    merged.lateness.p99Ms = Math.max(merged.lateness.p99Ms, stats.lateness.p99Ms);
    merged.lateness.maxMs = Math.max(merged.lateness.maxMs, stats.lateness.maxMs);
  }
  merged.lateness.meanMs = merged.lateness.writes === 0 ? 0 : latenessSum / merged.lateness.writes;
  return merged;
}
