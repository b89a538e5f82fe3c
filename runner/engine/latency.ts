/**
 * Per-request latencies from a recorded timeline (vLLM `bench serve` definitions), all counted from the
 * scheduled send time so that a runner falling behind cannot hide its backlog (coordinated omission):
 * - TTFT: first chunk with non-empty content − scheduled send;
 * - ITL: every gap between consecutive content chunks (a chunk carrying several tokens is one gap);
 * - E2E: last content chunk − scheduled send;
 * - TPOT: (E2E − TTFT) / (output tokens − 1), defined for ≥ 2 output tokens.
 */
export interface Latencies {
  ttftSeconds?: number;
  itlSeconds: number[];
  e2eSeconds?: number;
  tpotSeconds?: number;
}

/**
 * `contentTimes`: arrival times (ms) of the content chunks, in order, in its first `count` entries (all of
 * them by default; the HTTP client passes a reused, partly filled buffer); `scheduledAt` in the same clock.
 */
export function latenciesFromTimeline(
  scheduledAt: number,
  contentTimes: ArrayLike<number>,
  outputTokens: number | undefined,
  count = contentTimes.length,
): Latencies {
  const n = count;
  if (n === 0) return { itlSeconds: [] };
  const first = contentTimes[0] as number;
  const last = contentTimes[n - 1] as number;
  const itlSeconds = new Array<number>(n - 1);
  let prev = first;
  for (let i = 1; i < n; i++) {
    const t = contentTimes[i] as number;
    itlSeconds[i - 1] = (t - prev) / 1000;
    prev = t;
  }
  const ttftSeconds = (first - scheduledAt) / 1000;
  const e2eSeconds = (last - scheduledAt) / 1000;
  const result: Latencies = { ttftSeconds, itlSeconds, e2eSeconds };
  if (outputTokens !== undefined && outputTokens > 1)
    result.tpotSeconds = (e2eSeconds - ttftSeconds) / (outputTokens - 1);
  return result;
}
