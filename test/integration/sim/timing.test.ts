import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { type SimulatorHandle, startSimulator } from '../../../runner/sim/index.ts';
import { contentEvents, get, MODEL, metricValue, type StreamResult, streamPost, waitFor } from './client.ts';

/**
 * Tolerances.
 * - Early: none. The simulator never sends a token before its deadline, and deadlines count from when
 *   the request arrived, after the client started its clock: measured TTFT >= configured is exact.
 * - Late: the 1 ms tick, timer latency and loopback cost a few ms (+15 ms covers them with room), plus
 *   whatever the machine's scheduler adds. Sim and client share this process's event loop, so that
 *   part is measured: the largest event-loop delay seen during the request, counted twice (the
 *   simulator's send and the client's read can each be held up once). On an idle machine the bound
 *   stays near +15 ms; on a machine running other test suites it widens only by the stalls observed.
 * - Mean ITL = (last - first) / (n - 1): only the two end points' lateness is error, divided by n - 1.
 *   5% of the ITL plus the same measured stalls spread over n - 1 gaps.
 */
const TTFT_SLACK_MS = 15;
const ITL_RELATIVE_TOLERANCE = 0.05;

/** Runs `fn` while measuring the longest event-loop delay (ms) of this process. */
async function withLoopDelay<T>(fn: () => Promise<T>): Promise<{ value: T; maxDelayMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  try {
    const value = await fn();
    return { value, maxDelayMs: histogram.max / 1e6 };
  } finally {
    histogram.disable();
  }
}

function streamBody(maxTokens: number) {
  return {
    model: MODEL,
    messages: [{ role: 'user', content: 'time me' }],
    max_tokens: maxTokens,
    ignore_eos: true,
    stream: true,
  };
}

function ttftMs(result: StreamResult): number {
  const first = contentEvents(result)[0];
  assert.ok(first !== undefined, 'no content chunk received');
  return first.at - result.sentAt;
}

function meanItlMs(result: StreamResult): number {
  const content = contentEvents(result);
  const first = content[0];
  const last = content.at(-1);
  assert.ok(first !== undefined && last !== undefined && content.length > 1);
  return (last.at - first.at) / (content.length - 1);
}

describe('simulated timing of a single request', () => {
  let sim: SimulatorHandle;
  const agent = new Agent();

  before(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 50, itlMs: 10 });
    // Warm up code paths and the connection so the measured request is not the first.
    await streamPost(`${sim.url}/v1/chat/completions`, streamBody(3), { dispatcher: agent });
  });
  after(async () => {
    await agent.close();
    await sim.close();
  });

  it('sends the first content token at the configured TTFT and then one token per ITL', async (t) => {
    const { value: result, maxDelayMs } = await withLoopDelay(() =>
      streamPost(`${sim.url}/v1/chat/completions`, streamBody(100), { dispatcher: agent }),
    );
    assert.equal(contentEvents(result).length, 100);
    const ttft = ttftMs(result);
    const itl = meanItlMs(result);
    t.diagnostic(
      `measured TTFT ${ttft.toFixed(2)} ms (configured 50), mean ITL ${itl.toFixed(3)} ms (configured 10), ` +
        `largest event-loop delay ${maxDelayMs.toFixed(1)} ms`,
    );
    assert.ok(ttft >= 50, `TTFT ${ttft.toFixed(2)} ms is earlier than configured (50)`);
    const ttftBound = 50 + TTFT_SLACK_MS + 2 * maxDelayMs;
    assert.ok(ttft <= ttftBound, `TTFT ${ttft.toFixed(2)} ms > ${ttftBound.toFixed(1)} ms`);
    const itlTolerance = 10 * ITL_RELATIVE_TOLERANCE + (2 * maxDelayMs) / 99;
    assert.ok(Math.abs(itl - 10) <= itlTolerance, `mean ITL ${itl.toFixed(3)} ms, configured 10 +- ${itlTolerance}`);
  });

  it('sends the role chunk before the first token, so TTFT must skip it', async () => {
    const result = await streamPost(`${sim.url}/v1/chat/completions`, streamBody(2), { dispatcher: agent });
    const role = result.events[0];
    assert.match(role?.raw ?? '', /"role":"assistant","content":""/);
    const firstContent = contentEvents(result)[0];
    assert.equal(result.events.indexOf(firstContent as (typeof result.events)[number]), 1);
    assert.ok((role?.at ?? 0) <= (firstContent?.at ?? 0));
  });
});

describe('simulated timing with jitter and prefill', () => {
  let sim: SimulatorHandle;
  const agent = new Agent();

  before(async () => {
    sim = await startSimulator({
      port: 0,
      ttftMs: 40,
      ttftJitterMs: 10,
      itlMs: 10,
      itlJitterMs: 4,
      prefillMicrosPerToken: 100,
      seed: 7,
    });
  });
  after(async () => {
    await agent.close();
    await sim.close();
  });

  it('keeps TTFT within base +- jitter plus prefill, and the mean ITL at the scheduled mean', async () => {
    const prompt = 'y'.repeat(4 * 199); // 1 BOS + 4 template + 199 = 204 prompt tokens -> +20.4 ms prefill
    const { value: result, maxDelayMs } = await withLoopDelay(() =>
      streamPost(
        `${sim.url}/v1/chat/completions`,
        { ...streamBody(100), messages: [{ role: 'user', content: prompt }] },
        { dispatcher: agent },
      ),
    );
    const ttft = ttftMs(result);
    assert.ok(ttft >= 30 + 20.4, `TTFT ${ttft.toFixed(2)} ms is below ttft - jitter + prefill`);
    assert.ok(ttft <= 50 + 20.4 + TTFT_SLACK_MS + 2 * maxDelayMs, `TTFT ${ttft.toFixed(2)} ms`);
    // The simulator's own ITL histogram holds the exact scheduled steps (seeded draws).
    const metrics = (await get(`${sim.url}/metrics`, { dispatcher: agent })).text;
    const scheduledMeanMs =
      ((metricValue(metrics, 'vllm:inter_token_latency_seconds_sum') ?? 0) /
        (metricValue(metrics, 'vllm:inter_token_latency_seconds_count') ?? 1)) *
      1000;
    assert.equal(metricValue(metrics, 'vllm:inter_token_latency_seconds_count'), 99);
    assert.ok(scheduledMeanMs >= 6 && scheduledMeanMs <= 14);
    const itl = meanItlMs(result);
    const tolerance = scheduledMeanMs * ITL_RELATIVE_TOLERANCE + (2 * maxDelayMs) / 99;
    assert.ok(
      Math.abs(itl - scheduledMeanMs) <= tolerance,
      `mean ITL ${itl.toFixed(3)} ms, scheduled ${scheduledMeanMs.toFixed(3)} ms`,
    );
  });
});

describe('queueing beyond maxNumSeqs', () => {
  let sim: SimulatorHandle;
  const agent = new Agent({ connections: 16 });

  before(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 100, itlMs: 20, maxNumSeqs: 2 });
  });
  after(async () => {
    await agent.close();
    await sim.close();
  });

  it('holds extra requests in a FIFO queue, shows them as waiting, and adds the wait to TTFT', async () => {
    // Each request runs 100 ms + 4 x 20 ms = 180 ms; two run at a time.
    const requests = Array.from({ length: 6 }, () =>
      streamPost(`${sim.url}/v1/chat/completions`, streamBody(5), { dispatcher: agent }),
    );
    await waitFor(async () => {
      const metrics = (await get(`${sim.url}/metrics`, { dispatcher: agent })).text;
      return metricValue(metrics, 'vllm:num_requests_waiting') === 4;
    }, 'vllm:num_requests_waiting to reach 4');
    assert.equal(sim.stats().running, 2);

    const results = await Promise.all(requests);
    // Measured from the earliest send: no request started before then, and each pair of slots
    // frees up 180 ms after the previous pair started, so these bounds are exact.
    const start = Math.min(...results.map((result) => result.sentAt));
    const firstTokens = results.map((result) => (contentEvents(result)[0]?.at ?? 0) - start).sort((a, b) => a - b);
    const lowerBounds = [100, 100, 280, 280, 460, 460];
    firstTokens.forEach((at, i) => {
      assert.ok(
        at >= (lowerBounds[i] as number),
        `request ${i}: first token at ${at.toFixed(1)} ms < ${lowerBounds[i]}`,
      );
    });
    const metrics = (await get(`${sim.url}/metrics`, { dispatcher: agent })).text;
    assert.equal(metricValue(metrics, 'vllm:num_requests_waiting'), 0);
    assert.equal(metricValue(metrics, 'vllm:request_queue_time_seconds_count'), 6);
    assert.ok((metricValue(metrics, 'vllm:request_queue_time_seconds_sum') ?? 0) > 0);
    assert.equal(sim.stats().maxWaiting, 4);
  });
});
