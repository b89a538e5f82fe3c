/**
 * The engine's clock: epoch milliseconds read from the monotonic clock (performance.now), anchored to the
 * wall clock once at process start. Differences are monotonic; values are comparable with Date.now()
 * to within the wall-clock drift since process start (see toClock for converting agreed epoch times).
 */
/** Read once: the `performance.timeOrigin` getter costs about as much as `performance.now()` itself. */
const ORIGIN = performance.timeOrigin;

export function now(): number {
  return ORIGIN + performance.now();
}

/**
 * Converts a wall-clock epoch time (e.g. an agreed `startAt`) to the engine clock, using the wall clock as it
 * is now. Date.now() has 1 ms steps, so the offset is read right at a step; a read can only come late (never
 * early), so the smallest of three readings is kept, which also discards one taken while the process lost its
 * core. Costs ≤ 3 ms of spinning, once per run. Runners that agree on a start time then start within
 * microseconds of each other plus their wall clocks' disagreement.
 */
export function toClock(epochMs: number): number {
  let offset = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const first = Date.now();
    let wall = first;
    while (wall === first) wall = Date.now();
    offset = Math.min(offset, now() - wall);
  }
  return epochMs + offset;
}
