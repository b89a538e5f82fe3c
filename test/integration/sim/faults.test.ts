import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { type SimulatorHandle, startSimulator } from '../../../runner/sim/index.ts';
import { contentEvents, MODEL, postJson, streamPost, waitFor } from './client.ts';

const streamBody = {
  model: MODEL,
  messages: [{ role: 'user', content: 'break please' }],
  max_tokens: 10,
  ignore_eos: true,
  stream: true,
  stream_options: { include_usage: true },
};

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('fault injection observed by a client (x-sim-fault header)', () => {
  let sim: SimulatorHandle;
  // A fresh connection per request: several faults leave their connection unusable.
  const fresh = () => new Agent({ pipelining: 0 });
  const agents: Agent[] = [];
  const agent = () => {
    const created = fresh();
    agents.push(created);
    return created;
  };
  const url = () => `${sim.url}/v1/chat/completions`;

  before(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 10, itlMs: 5 });
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.destroy()));
    await sim.close();
  });

  it('status=503 answers 503 with an error body', async () => {
    const response = await postJson(url(), streamBody, {
      dispatcher: agent(),
      headers: { 'x-sim-fault': 'status=503' },
    });
    assert.equal(response.status, 503);
    const body = JSON.parse(response.text);
    assert.equal(body.object, 'error');
    assert.equal(body.code, 503);
  });

  it('status=429 answers 429 with Retry-After', async () => {
    const response = await postJson(url(), streamBody, {
      dispatcher: agent(),
      headers: { 'x-sim-fault': 'status=429,retry-after=3' },
    });
    assert.equal(response.status, 429);
    assert.equal(response.headers['retry-after'], '3');
    assert.equal(JSON.parse(response.text).type, 'RateLimitError');
  });

  it('reset-after=5 delivers 5 tokens, then the connection is reset', async (t) => {
    const result = await streamPost(url(), streamBody, {
      dispatcher: agent(),
      headers: { 'x-sim-fault': 'reset-after=5' },
    });
    assert.equal(result.status, 200);
    assert.equal(contentEvents(result).length, 5);
    assert.ok(result.error !== undefined, 'expected the body to fail');
    t.diagnostic(`undici reports the reset as ${result.error.name}: ${result.error.message}`);
    // undici surfaces an RST in the middle of a chunked body as a socket error or, when it sees the
    // end of the stream first, as a parser error about the incomplete chunked encoding.
    assert.match(
      `${result.error.code} ${result.error.message}`,
      /UND_ERR_SOCKET|ECONNRESET|other side closed|Invalid EOF state/,
    );
    assert.ok(!result.events.some((event) => event.raw === 'data: [DONE]'));
  });

  it('stall-after=3 delivers 3 tokens, then keeps the connection open and silent until the client gives up', async () => {
    const before = sim.stats().faults.stall ?? 0;
    const result = await streamPost(url(), streamBody, {
      dispatcher: agent(),
      headers: { 'x-sim-fault': 'stall-after=3' },
      bodyTimeout: 300,
    });
    assert.equal(contentEvents(result).length, 3);
    assert.equal(result.error?.code, 'UND_ERR_BODY_TIMEOUT');
    assert.equal((sim.stats().faults.stall ?? 0) - before, 1);
    // The stalled request gave up its sequence slot.
    assert.equal(sim.stats().running, 0);
  });

  it('no-headers never answers: the client hits its headers timeout', async () => {
    await assert.rejects(
      streamPost(url(), streamBody, {
        dispatcher: agent(),
        headers: { 'x-sim-fault': 'no-headers' },
        headersTimeout: 300,
      }),
      (error: Error & { code?: string }) => error.code === 'UND_ERR_HEADERS_TIMEOUT',
    );
  });

  it('malformed-json-after=2 inserts one unparseable event after 2 tokens, then completes', async () => {
    const result = await streamPost(url(), streamBody, {
      dispatcher: agent(),
      headers: { 'x-sim-fault': 'malformed-json-after=2' },
    });
    assert.equal(result.error, undefined);
    const dataEvents = result.events.filter((event) => event.raw.startsWith('data: ') && event.raw !== 'data: [DONE]');
    const broken = dataEvents
      .map((event, index) => [index, isJson(event.raw.slice(6))] as const)
      .filter(([, ok]) => !ok);
    assert.deepEqual(
      broken.map(([index]) => index),
      [3], // role, token 1, token 2, then the broken one
    );
    assert.equal(contentEvents(result).length, 10);
    assert.equal(result.events.at(-1)?.raw, 'data: [DONE]');
  });

  it('malformed-sse-after=2 inserts one line that is not an SSE data field', async () => {
    const result = await streamPost(url(), streamBody, {
      dispatcher: agent(),
      headers: { 'x-sim-fault': 'malformed-sse-after=2' },
    });
    const notData = result.events.filter((event) => !event.raw.startsWith('data: '));
    assert.equal(notData.length, 1);
    assert.equal(result.events.indexOf(notData[0] as (typeof result.events)[number]), 3);
    assert.equal(contentEvents(result).length, 10);
  });

  it('non-streaming malformed-json returns 200 with a body that is not JSON', async () => {
    const response = await postJson(
      url(),
      { ...streamBody, stream: false },
      { dispatcher: agent(), headers: { 'x-sim-fault': 'malformed-json-after=0' } },
    );
    assert.equal(response.status, 200);
    assert.ok(!isJson(response.text));
  });

  it('counts every injected fault in stats and /metrics', async () => {
    await waitFor(() => (sim.stats().faults['no-headers'] ?? 0) === 1, 'the no-headers fault to be counted');
    const faults = sim.stats().faults;
    assert.equal(faults.status, 2); // the 503 and the 429
    assert.equal(faults.reset, 1);
    assert.equal(faults['malformed-json'], 2);
    assert.equal(faults['malformed-sse'], 1);
  });
});

describe('fault rules from the options', () => {
  let sim: SimulatorHandle;
  const agent = new Agent();

  before(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 1, itlMs: 1, faults: ['status=500@every=3'] });
  });
  after(async () => {
    await agent.close();
    await sim.close();
  });

  it('status=500@every=3 fails exactly every third request', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const response = await postJson(
        `${sim.url}/v1/completions`,
        { model: MODEL, prompt: 'x', max_tokens: 1 },
        { dispatcher: agent },
      );
      statuses.push(response.status);
    }
    assert.deepEqual(statuses, [200, 200, 500, 200, 200, 500, 200]);
  });
});
