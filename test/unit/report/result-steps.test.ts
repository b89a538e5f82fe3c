/**
 * Per-step statistics in the runner's result hand-off: which runs carry them, what they hold, how large a sweep's
 * result gets, and the rule when a result would not fit a ConfigMap (the steps go, the whole-run figures stay).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { RequestResult } from '../../../runner/engine/types.ts';
import {
  ConfigMapResultSink,
  decodeResultConfigMap,
  encodeResult,
  inlineResultLimitBytes,
} from '../../../runner/handoff/index.ts';
import type { StepRecord } from '../../../runner/modes/target-run.ts';
import { type RunnerResult, resultSteps, withoutSteps } from '../../../runner/report/result-sink.ts';
import { RunStats } from '../../../runner/stats/index.ts';
import { FakeConfigMapApi } from '../loadtest/fake-configmap-api.ts';
import { request, runnerResult, statsOf, uid } from '../loadtest/fixtures.ts';

/** A deterministic generator, so sizes are reproducible. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    // xorshift32
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4_294_967_296;
  };
}

/** Incompressible text of about `bytes` characters. */
const noise = (bytes: number) => randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64');

/** A 128-token streamed response with latencies spread over a realistic range (many histogram buckets). */
function spreadRequest(next: () => number): RequestResult {
  const r = request({ ttft: 0.05 + next() * next() * 2, dispatchLagSeconds: next() / 1000, outputTokens: 128 });
  r.itlSeconds = r.itlSeconds.map(() => 0.005 + next() * next() * 0.1);
  const e2e = (r.ttftSeconds ?? 0) + r.itlSeconds.reduce((sum, v) => sum + v, 0);
  r.e2eSeconds = e2e;
  r.tpotSeconds = (e2e - (r.ttftSeconds ?? 0)) / 127;
  r.promptTokens = 256 + Math.floor(next() * 512);
  return r;
}

function stepRecords(count: number, requestsPerStep: number): StepRecord[] {
  const next = random(7);
  return Array.from({ length: count }, (_, step) => {
    const stats = new RunStats();
    for (let i = 0; i < requestsPerStep; i++) stats.addResult(spreadRequest(next));
    stats.observeWindow(step * 60_000, step * 60_000 + 50_000);
    const record: StepRecord = {
      step,
      label: step === 0 ? 'synchronous' : step === 1 ? 'throughput' : `constant@${(step * 1.5).toFixed(2)}`,
      profile: step === 0 ? 'synchronous' : step === 1 ? 'throughput' : 'constant',
      stats,
    };
    if (step >= 2) record.targetRate = step * 1.5;
    return record;
  });
}

function withSteps(steps: StepRecord[]): RunnerResult {
  const result = runnerResult(RunStats.merged(steps.map((s) => s.stats)));
  const target = result.targets[0];
  assert.ok(target);
  const carried = resultSteps(steps);
  if (carried) target.steps = carried;
  return result;
}

describe('resultSteps', () => {
  it('carries every step of a multi-step run, in the runner report’s step shape without the summary', () => {
    const records = stepRecords(3, 20);
    const last = records[2];
    assert.ok(last);
    last.outcome = {
      step: 2,
      label: last.label,
      profile: 'constant',
      targetRate: 3,
      achievedRate: 2.99,
      completedRate: 2.9,
      saturated: true,
      saturationReason: 'completed rate fell behind',
      counts: { sent: 20, completed: 20, ok: 20, failed: 0, late: 0, errors: {} } as never,
      startedAt: 0,
      endedAt: 1,
    };
    const steps = resultSteps(records);
    assert.ok(steps);
    assert.deepEqual(
      steps.map((s) => [s.step, s.label, s.profile, s.targetRate]),
      [
        [0, 'synchronous', 'synchronous', undefined],
        [1, 'throughput', 'throughput', undefined],
        [2, 'constant@3.00', 'constant', 3],
      ],
    );
    assert.deepEqual(Object.keys(steps[2] ?? {}), [
      'step',
      'label',
      'profile',
      'stats',
      'targetRate',
      'achievedRate',
      'completedRate',
      'saturated',
      'saturationReason',
    ]);
    assert.deepEqual(RunStats.fromJSON(steps[2]?.stats).requests, last.stats.requests);
  });

  it('adds nothing for a single-step run (its steps equal the whole run)', () => {
    assert.equal(resultSteps(stepRecords(1, 5)), undefined);
    assert.equal(resultSteps([]), undefined);
  });
});

describe('a sweep’s result in a ConfigMap', () => {
  it('stays inline JSON far below the limit: 10 steps of 1,000 requests × 128 tokens', (t) => {
    const result = withSteps(stepRecords(10, 1000));
    const without = withoutSteps(result, 'measuring');
    const encoded = encodeResult(result);
    t.diagnostic(
      `10-step sweep result: ${encoded.encodedBytes} bytes of JSON (${encodeResult(without).encodedBytes} without ` +
        `steps); the inline limit is ${inlineResultLimitBytes}`,
    );
    assert.ok(encoded.binaryData === undefined, 'stored as plain JSON');
    assert.ok(encoded.encodedBytes < inlineResultLimitBytes / 2, `${encoded.encodedBytes} bytes`);
  });

  it('drops the steps, saying why, when the result would not fit even gzipped; the whole-run figures stay', async () => {
    const api = new FakeConfigMapApi();
    const sink = new ConfigMapResultSink({
      api,
      name: 'nightly-result-0',
      namespace: 'bench',
      loadTest: { name: 'nightly', uid },
      index: 0,
      retryDelayMs: 1,
    });
    const result = withSteps(stepRecords(3, 10));
    // Random text does not compress: 1.5 MB of it in a label outgrows any ConfigMap.
    const step = result.targets[0]?.steps?.[0];
    assert.ok(step);
    step.label = noise(1_500_000);
    await sink.final(result);
    const decoded = decodeResultConfigMap(api.objects.get('nightly-result-0') ?? { metadata: { name: '' } });
    const stored = decoded.payload as RunnerResult;
    assert.equal(decoded.phase, 'Finished');
    assert.equal(stored.targets[0]?.steps, undefined);
    assert.match(
      stored.targets[0]?.stepsOmitted ?? '',
      /^left out: the runner result is \d+ bytes of JSON \(\d+ gzipped and base64-encoded\): more than a ConfigMap holds/,
    );
    assert.deepEqual(stored.targets[0]?.stats, result.targets[0]?.stats);
  });

  it('still fails, naming the size, when the result is too large without steps', async () => {
    const api = new FakeConfigMapApi();
    const sink = new ConfigMapResultSink({
      api,
      name: 'nightly-result-0',
      namespace: 'bench',
      loadTest: { name: 'nightly', uid },
      index: 0,
      retryDelayMs: 1,
    });
    const result = runnerResult(statsOf([request()]), { messages: [noise(1_500_000)] });
    await assert.rejects(sink.final(result), /the runner result is \d+ bytes of JSON .*more than a ConfigMap holds/);
  });
});
