/** Profiles, phases, stop conditions, seeding and runner splitting, against the simulator over HTTP. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runLoad } from '../../../runner/engine/index.ts';
import type { RequestResult } from '../../../runner/engine/types.ts';
import { type SimulatorHandle, startSimulator } from '../../../runner/sim/index.ts';
import { capture, dataSpec, loadSpec, startOf, targetFor } from './helpers.ts';

describe('engine runs against the simulator', () => {
  let sim: SimulatorHandle;
  let slowSim: SimulatorHandle;
  let failingSim: SimulatorHandle;
  before(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 5, itlMs: 2 });
    slowSim = await startSimulator({ port: 0, ttftMs: 5, itlMs: 100 });
    failingSim = await startSimulator({ port: 0, faults: ['status=500'] });
  });
  after(async () => {
    await Promise.all([sim?.close(), slowSim?.close(), failingSim?.close()]);
  });

  it('marks warmup, measure and cooldown by scheduled time', async () => {
    const c = capture();
    await runLoad(
      targetFor(sim.url),
      loadSpec({ rate: 50, durationSeconds: 2, warmupSeconds: 0.5, cooldownSeconds: 0.3 }),
      dataSpec(),
      c.hooks,
    );
    const t0 = startOf(c.events);
    const byPhase = { warmup: 0, measure: 0, cooldown: 0 };
    for (const r of c.results) {
      byPhase[r.phase]++;
      const offset = r.scheduledAt - t0;
      const expected = offset < 500 ? 'warmup' : offset >= 1700 ? 'cooldown' : 'measure';
      assert.equal(r.phase, expected, `offset ${offset}`);
    }
    // 50 req/s on an exact 20 ms grid: 25 in [0, 0.5 s), 60 in [0.5, 1.7 s), 15 in [1.7, 2 s).
    assert.deepEqual(byPhase, { warmup: 25, measure: 60, cooldown: 15 });
    const phases = c.events.filter((e) => e.kind === 'phase').map((e) => (e.kind === 'phase' ? e.phase : ''));
    assert.deepEqual(phases, ['warmup', 'measure', 'cooldown']);
  });

  it('stops at maxRequests exactly (open and closed loop)', async () => {
    for (const load of [
      loadSpec({ rate: 200, maxRequests: 37 }),
      loadSpec({ profile: 'concurrent', concurrency: 5, maxRequests: 37 }),
      loadSpec({ profile: 'throughput', maxRequests: 37 }),
    ]) {
      const c = capture();
      const outcome = await runLoad(targetFor(sim.url), load, dataSpec({ calibration: 'off' }), c.hooks);
      assert.equal(outcome.stopReason, 'maxRequests', load.profile);
      assert.equal(outcome.counts.sent, 37);
      assert.equal(c.results.length, 37);
      assert.deepEqual(
        c.results.map((r) => r.index).sort((a, b) => a - b),
        Array.from({ length: 37 }, (_, i) => i),
      );
    }
  });

  it('stops at the duration, and closed loop keeps N streams busy', async () => {
    const c = capture();
    let maxInFlight = 0;
    const outcome = await runLoad(
      targetFor(sim.url),
      loadSpec({ profile: 'concurrent', concurrency: 4, durationSeconds: 1 }),
      dataSpec({ calibration: 'off' }),
      { ...c.hooks, onProgress: (p) => (maxInFlight = Math.max(maxInFlight, p.inFlight)) },
      { progressIntervalMs: 50 },
    );
    assert.equal(outcome.stopReason, 'duration');
    const t0 = startOf(c.events);
    assert.ok(c.results.every((r) => r.scheduledAt - t0 < 1000));
    assert.ok(c.results.length > 20);
    assert.ok(maxInFlight <= 4, `in flight ${maxInFlight}`);
    // closed loop: a request is scheduled when a stream frees up, so 4 start at t0
    assert.equal(c.results.filter((r) => r.scheduledAt === t0).length, 4);
  });

  it('stops at maxErrors and lets the run finish cleanly', async () => {
    const outcome = await runLoad(
      targetFor(failingSim.url),
      loadSpec({ rate: 100, durationSeconds: 10, maxErrors: 5 }),
      dataSpec({ calibration: 'off' }),
      {},
    );
    assert.equal(outcome.stopReason, 'maxErrors');
    assert.ok(outcome.counts.failed >= 5);
    assert.ok(outcome.counts.sent < 100, `sent ${outcome.counts.sent}`);
    assert.equal(outcome.counts.completed, outcome.counts.sent);
  });

  it('on abort stops sending, lets in-flight requests finish within the grace period', async () => {
    const controller = new AbortController();
    const c = capture();
    const done = runLoad(
      targetFor(slowSim.url),
      loadSpec({ profile: 'concurrent', concurrency: 3, durationSeconds: 30 }),
      dataSpec({ calibration: 'off', outputTokens: { kind: 'fixed', value: 3 } }), // ~0.2 s per request
      {
        ...c.hooks,
        onResult: (r) => {
          c.results.push(r);
          if (c.results.length === 3) controller.abort();
        },
      },
      { signal: controller.signal, gracePeriodMs: 10_000 },
    );
    const outcome = await done;
    assert.equal(outcome.stopReason, 'signal');
    assert.equal(outcome.counts.errors.cancelled, 0);
    assert.equal(outcome.counts.completed, outcome.counts.sent);
    assert.ok(c.results.every((r) => r.ok));
  });

  it('on abort cancels what is still in flight when the grace period ends', async () => {
    const controller = new AbortController();
    const c = capture();
    const outcome = await runLoad(
      targetFor(slowSim.url),
      loadSpec({ profile: 'concurrent', concurrency: 3, durationSeconds: 30 }),
      dataSpec({ calibration: 'off', outputTokens: { kind: 'fixed', value: 100 } }), // ~10 s per request
      {
        ...c.hooks,
        onPhase: (e) => e.kind === 'phase' && setTimeout(() => controller.abort(), 200),
      },
      { signal: controller.signal, gracePeriodMs: 100 },
    );
    assert.equal(outcome.stopReason, 'signal');
    assert.equal(outcome.counts.sent, 3);
    assert.equal(outcome.counts.errors.cancelled, 3);
    for (const r of c.results) {
      assert.equal(r.errorClass, 'cancelled');
      assert.match(r.errorMessage ?? '', /grace period/);
    }
  });

  it('returns at once for an already aborted signal', async () => {
    const outcome = await runLoad(
      targetFor(sim.url),
      loadSpec({ rate: 10, durationSeconds: 5 }),
      dataSpec(),
      {},
      {
        signal: AbortSignal.abort(),
      },
    );
    assert.equal(outcome.stopReason, 'signal');
    assert.equal(outcome.counts.sent, 0);
  });

  it('repeats the same request sequence for the same seed', async () => {
    const bodies: string[][] = [[], []];
    let run = 0;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        bodies[run]?.push(body);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          '{"choices":[{"index":0,"text":"x","finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}',
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const offsets: number[][] = [];
    try {
      for (run = 0; run < 2; run++) {
        const c = capture();
        await runLoad(
          targetFor(url, { stream: false, api: 'completions' }),
          loadSpec({ profile: 'poisson', rate: 200, maxRequests: 25 }),
          dataSpec({
            calibration: 'off',
            promptTokens: { kind: 'uniform', min: 5, max: 50 },
            outputTokens: { kind: 'uniform', min: 1, max: 99 },
          }),
          c.hooks,
        );
        const t0 = startOf(c.events);
        offsets.push(c.results.sort((a, b) => a.index - b.index).map((r) => r.scheduledAt - t0));
      }
    } finally {
      server.close();
    }
    assert.equal(bodies[0]?.length, 25);
    assert.deepEqual([...(bodies[1] ?? [])].sort(), [...(bodies[0] ?? [])].sort());
    assert.deepEqual(offsets[1], offsets[0]);
    assert.equal(new Set(bodies[0]).size, 25, 'requests differ from each other');
  });

  it('N runners with a common start and shares send exactly the one-runner schedule', async () => {
    const one = capture();
    const startAt = Date.now() + 300;
    const base = loadSpec({ profile: 'poisson', rate: 150, maxRequests: 60 });
    const data = dataSpec({ calibration: 'off' });
    await runLoad(targetFor(sim.url), { ...base, startAt }, data, one.hooks);
    const parts = [capture(), capture(), capture()];
    const startAt2 = Date.now() + 300;
    const outcomes = await Promise.all(
      parts.map((p, index) =>
        runLoad(targetFor(sim.url), { ...base, startAt: startAt2, share: { index, count: 3 } }, data, p.hooks),
      ),
    );
    assert.deepEqual(
      outcomes.map((o) => o.counts.sent),
      [20, 20, 20],
    );
    // (index, offset from t0, output tokens) per request; offsets compared to 1 µs (epoch-ms floats).
    const rows = (rs: RequestResult[], t0: number) =>
      rs.map((r) => ({ index: r.index, offset: r.scheduledAt - t0, tokens: r.requestedOutputTokens }));
    const union = parts.flatMap((p) => rows(p.results, startOf(p.events))).sort((a, b) => a.index - b.index);
    const whole = rows(one.results, startOf(one.events)).sort((a, b) => a.index - b.index);
    assert.deepEqual(
      union.map((r) => [r.index, r.tokens]),
      whole.map((r) => [r.index, r.tokens]),
    );
    for (const [i, r] of union.entries()) {
      assert.ok(Math.abs(r.offset - (whole[i]?.offset as number)) < 0.001, `slot ${r.index}`);
    }
    // Each runner converts the agreed wall-clock start to its own clock; in one process they agree to µs.
    for (const p of parts) assert.ok(Math.abs(startOf(p.events) - startOf(parts[0]?.events ?? [])) < 0.1);
  });

  it('runs stages with a ramp and reports stage indices', async () => {
    const c = capture();
    const outcome = await runLoad(
      targetFor(sim.url),
      loadSpec({
        profile: 'constant',
        stages: [
          { durationSeconds: 1, rate: 40, ramp: true }, // 0 → 40 req/s: 20 requests
          { durationSeconds: 0.5, rate: 80 }, // 40 requests
        ],
      }),
      dataSpec({ calibration: 'off' }),
      c.hooks,
    );
    assert.equal(outcome.stopReason, 'duration');
    assert.equal(c.results.filter((r) => r.stage === 0).length, 20);
    assert.equal(c.results.filter((r) => r.stage === 1).length, 40);
  });

  it('ramps and holds closed-loop concurrency per stage', async () => {
    const c = capture();
    await runLoad(
      targetFor(sim.url),
      loadSpec({
        profile: 'concurrent',
        stages: [
          { durationSeconds: 1, concurrency: 6, ramp: true },
          { durationSeconds: 0.5, concurrency: 2 },
        ],
      }),
      dataSpec({ calibration: 'off' }),
      c.hooks,
    );
    // Most requests in flight at once among those sent in a stage (end = scheduled + E2E).
    const maxOverlap = (rs: RequestResult[]) => {
      const edges = rs.flatMap((r) => [
        [r.sentAt, 1],
        [r.scheduledAt + (r.e2eSeconds as number) * 1000, -1],
      ]);
      edges.sort((a, b) => (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number));
      let open = 0;
      let max = 0;
      for (const [, d] of edges) {
        open += d as number;
        max = Math.max(max, open);
      }
      return max;
    };
    const stage0 = c.results.filter((r) => r.stage === 0);
    const stage1 = c.results.filter((r) => r.stage === 1);
    assert.ok(c.results.every((r) => r.ok));
    assert.ok(stage0.length > 10 && stage1.length > 10);
    assert.ok(maxOverlap(stage0) <= 6, `stage 0 overlap ${maxOverlap(stage0)}`);
    assert.ok(maxOverlap(stage1) <= 2, `stage 1 overlap ${maxOverlap(stage1)}`);
  });

  it('sweeps: synchronous, throughput, then K rates in between', async () => {
    const c = capture();
    const outcome = await runLoad(
      targetFor(sim.url, { maxConnections: 8 }),
      loadSpec({ profile: 'sweep', sweep: { rates: 2, stepSeconds: 1 }, warmupSeconds: 0.2 }),
      dataSpec({ calibration: 'off' }),
      c.hooks,
    );
    assert.ok(['duration', 'saturated'].includes(outcome.stopReason));
    const labels = outcome.steps.map((s) => s.label);
    assert.equal(labels[0], 'synchronous');
    assert.equal(labels[1], 'throughput');
    const sync = outcome.steps[0]?.completedRate as number;
    const max = outcome.steps[1]?.completedRate as number;
    assert.ok(max > sync, `throughput ${max} vs synchronous ${sync}`);
    const rates = outcome.steps.slice(2).map((s) => s.targetRate as number);
    assert.ok(rates.length >= 1 && rates.length <= 2);
    for (const [j, r] of rates.entries()) assert.ok(Math.abs(r - (sync + ((j + 1) * (max - sync)) / 3)) < 1e-9);
    for (const r of c.results)
      assert.equal(
        r.step,
        outcome.steps.findIndex((s) => s.step === r.step),
      );
  });
});
