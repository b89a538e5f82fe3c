/**
 * Faults: each one gives classified errors with a clear message, the run goes on to its normal end, and
 * nothing throws. Most faults come from the simulator (per request, via its x-sim-fault header); the few it
 * cannot produce come from tiny deliberately broken servers below.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runLoad } from '../../../runner/engine/index.ts';
import type { ErrorClass, RunOutcome, TargetSpec } from '../../../runner/engine/types.ts';
import { type SimulatorHandle, startSimulator } from '../../../runner/sim/index.ts';
import { capture, dataSpec, loadSpec, targetFor } from './helpers.ts';

const REQUESTS = 4;

async function runAgainst(target: TargetSpec) {
  const c = capture();
  const outcome: RunOutcome = await runLoad(
    target,
    loadSpec({ profile: 'constant', rate: 40, maxRequests: REQUESTS }),
    dataSpec({ calibration: 'off' }),
    c.hooks,
  );
  return { outcome, results: c.results };
}

async function expectAllFail(target: TargetSpec, errorClass: ErrorClass, message: RegExp, status?: number) {
  const { outcome, results } = await runAgainst(target);
  assert.equal(outcome.stopReason, 'maxRequests');
  assert.equal(results.length, REQUESTS);
  assert.equal(outcome.counts.failed, REQUESTS);
  assert.equal(outcome.counts.errors[errorClass], REQUESTS);
  for (const r of results) {
    assert.equal(r.ok, false);
    assert.equal(r.errorClass, errorClass, r.errorMessage);
    assert.match(r.errorMessage ?? '', message);
    if (status !== undefined) assert.equal(r.httpStatus, status);
  }
  return results;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

describe('engine fault handling', () => {
  let sim: SimulatorHandle;
  let authSim: SimulatorHandle;
  let flakySim: SimulatorHandle;
  before(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 10, itlMs: 5 });
    authSim = await startSimulator({ port: 0, ttftMs: 10, itlMs: 5, apiKey: 'right-key-0123456789' });
    flakySim = await startSimulator({ port: 0, ttftMs: 10, itlMs: 5, faults: ['status=503@every=3'] });
  });
  after(async () => {
    await Promise.all([sim?.close(), authSim?.close(), flakySim?.close()]);
  });
  const withFault = (fault: string, over: Partial<TargetSpec> = {}) =>
    targetFor(sim.url, { headers: { 'x-sim-fault': fault }, ...over });

  it('unreachable target → connect', async () => {
    const closed = createServer();
    const url = await listen(closed);
    await new Promise((r) => closed.close(r));
    await expectAllFail(targetFor(url), 'connect', /cannot connect \(ECONNREFUSED\)/);
  });

  it('missing API key → http 401', async () => {
    await expectAllFail(targetFor(authSim.url), 'http', /HTTP 401: Unauthorized/, 401);
  });

  it('wrong API key → http 401, and the key never appears in messages', async () => {
    const results = await expectAllFail(
      targetFor(authSim.url, { apiKey: 'wrong-key-9876543210' }),
      'http',
      /HTTP 401/,
      401,
    );
    for (const r of results) assert.ok(!JSON.stringify(r).includes('wrong-key-9876543210'));
  });

  it('the right API key works', async () => {
    const { outcome } = await runAgainst(targetFor(authSim.url, { apiKey: 'right-key-0123456789' }));
    assert.equal(outcome.counts.ok, REQUESTS);
  });

  it('wrong model → http 404 with the server message', async () => {
    await expectAllFail(
      targetFor(sim.url, { model: 'no-such-model' }),
      'http',
      /HTTP 404: .*no-such-model.*does not exist/,
      404,
    );
  });

  it('429 → http 429', async () => {
    await expectAllFail(withFault('status=429'), 'http', /HTTP 429/, 429);
  });

  it('503 → http 503', async () => {
    await expectAllFail(withFault('status=503'), 'http', /HTTP 503/, 503);
  });

  it('malformed JSON in the stream → bad_payload', async () => {
    await expectAllFail(withFault('malformed-json-after=2'), 'bad_payload', /malformed JSON in stream chunk/);
  });

  it('malformed SSE → bad_payload', async () => {
    await expectAllFail(withFault('malformed-sse-after=2'), 'bad_payload', /malformed SSE: unexpected line/);
  });

  it('connection reset mid-stream → broken_stream, keeping the TTFT seen', async () => {
    const results = await expectAllFail(withFault('reset-after=3'), 'broken_stream', /connection closed mid-stream/);
    for (const r of results) assert.ok((r.ttftSeconds ?? 0) > 0);
  });

  it('server never sends headers → timeout (headers)', async () => {
    const t = withFault('no-headers', { timeouts: { connectMs: 1000, headersMs: 300, bodyIdleMs: 5000 } });
    await expectAllFail(t, 'timeout', /no response headers within 300 ms/);
  });

  it('server stalls mid-stream → timeout (body idle)', async () => {
    const t = withFault('stall-after=2', { timeouts: { connectMs: 1000, headersMs: 5000, bodyIdleMs: 300 } });
    await expectAllFail(t, 'timeout', /no response data for 300 ms .*stalled stream/);
  });

  it('overall request limit → timeout', async () => {
    const t = targetFor(sim.url, { timeouts: { connectMs: 1000, headersMs: 5000, bodyIdleMs: 5000, requestMs: 30 } });
    await expectAllFail(t, 'timeout', /request exceeded 30 ms/);
  });

  it('a stream that ends without [DONE] or finish_reason → broken_stream', async () => {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end('data: {"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}\n\n');
      });
    });
    const url = await listen(server);
    try {
      await expectAllFail(
        targetFor(url),
        'broken_stream',
        /stream ended without \[DONE\] or finish_reason after 1 content chunk/,
      );
    } finally {
      server.close();
    }
  });

  it('a JSON reply to a streaming request → bad_payload naming the content type', async () => {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"choices":[]}');
      });
    });
    const url = await listen(server);
    try {
      await expectAllFail(
        targetFor(url),
        'bad_payload',
        /expected a text\/event-stream response, got content-type "application\/json"/,
      );
    } finally {
      server.close();
    }
  });

  it('intermittent faults: failures are counted and the run goes on', async () => {
    const c = capture();
    const outcome = await runLoad(
      targetFor(flakySim.url),
      loadSpec({ profile: 'constant', rate: 50, maxRequests: 30 }),
      dataSpec({ calibration: 'off' }),
      c.hooks,
    );
    assert.equal(outcome.stopReason, 'maxRequests');
    assert.equal(outcome.counts.sent, 30);
    assert.equal(outcome.counts.errors.http, 10);
    assert.equal(outcome.counts.ok, 20);
    assert.deepEqual(outcome.counts.byStatus, { '200': 20, '503': 10 });
  });
});
