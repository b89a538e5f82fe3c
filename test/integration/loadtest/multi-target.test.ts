/**
 * A LoadTest with two targets through the full chain: two `loadlm sim` servers with different TTFTs and models,
 * one runner per target (operator in-process, pod executor, real runner). status.targets reports each target on
 * its own (its runner's requests, its sim's TTFT), and status.summary merges both histograms: its counts are the
 * sums and its TTFT p95 lies between the targets' (a quantile of a mixture lies between the parts' quantiles;
 * averaging percentiles would not guarantee that, merging histograms does).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ResultSummary } from '../../../api/loadtest.ts';
import type { RunningOperator } from '../../../operator/main.ts';
import { startSimulator } from '../../../runner/sim/index.ts';
import type { SimulatorHandle } from '../../../runner/sim/server.ts';
import { fromEnv, type PodExecutor } from '../../cluster/index.ts';
import { installCrds } from '../../support/crds.ts';
import { startRunnerExecutor, startTestOperator } from '../../support/operator.ts';
import { LoadTestNamespace, loadTestManifest, milliseconds } from './helpers.ts';

const fastTtftMs = 30;
const slowTtftMs = 150;
/** The runner measures TTFT from the scheduled send time: dispatch lag on a busy 2-core machine adds to it. */
const ttftToleranceMs = 120;
const outputTokens = 8;

const cluster = fromEnv();
let ns: LoadTestNamespace;
let executor: PodExecutor | undefined;
let fast: SimulatorHandle | undefined;
let slow: SimulatorHandle | undefined;
let operator: RunningOperator | undefined;

before(async () => {
  await installCrds(cluster);
  ns = new LoadTestNamespace(cluster, await cluster.createNamespace('loadtest-targets'));
  fast = await startSimulator({ port: 0, ttftMs: fastTtftMs, itlMs: 5, model: 'model-fast' });
  slow = await startSimulator({ port: 0, ttftMs: slowTtftMs, itlMs: 5, model: 'model-slow' });
  executor = await startRunnerExecutor(cluster, [ns.namespace]);
  operator = await startTestOperator(cluster, { namespaces: [ns.namespace] });
});

after(async () => {
  await operator?.stop();
  await executor?.stop();
  await fast?.close();
  await slow?.close();
  await cluster.stop();
});

/** TTFT min, p50, p95 and max in microseconds from a status summary. */
function ttftMicroseconds(summary: ResultSummary | undefined, what: string) {
  const us = summary?.ttft?.microseconds ?? {};
  const { min, p50, p95, max } = us;
  assert.ok(
    min !== undefined && p50 !== undefined && p95 !== undefined && max !== undefined,
    `${what}: TTFT statistics in microseconds, got ${JSON.stringify(us)}`,
  );
  return { min, p50, p95, max };
}

describe('a LoadTest with two targets', () => {
  it('reports each target on its own and merges both into the summary', async () => {
    await ns.apply(
      loadTestManifest(
        'pair',
        [
          { name: 'fast', url: fast?.url ?? '', model: 'model-fast' },
          { name: 'slow', url: slow?.url ?? '', model: 'model-slow' },
        ],
        {
          load: { profile: 'constant', rate: 4, durationSeconds: 8, warmupSeconds: 2 },
          data: { promptTokens: { type: 'fixed', value: 16 }, outputTokens: { type: 'fixed', value: outputTokens } },
          cleanupPolicy: 'Never',
        },
      ),
    );
    const lt = await ns.waitForFinished('pair', 120_000);
    assert.equal(lt.status?.phase, 'Succeeded', JSON.stringify(lt.status?.conditions));
    assert.equal(lt.status?.runners?.desired, 2, 'one runner per target');
    assert.deepEqual(
      lt.status?.targets?.map((target) => target.name),
      ['fast', 'slow'],
    );
    const byName = new Map(lt.status?.targets?.map((target) => [target.name, target.summary]));
    const fastSummary = byName.get('fast');
    const slowSummary = byName.get('slow');

    // Runner I runs target ⌊I / parallelism⌋: runner 0 the fast one, runner 1 the slow one.
    const results = await ns.results('pair');
    const fastCompleted = LoadTestNamespace.completedOf(results.get(0));
    const slowCompleted = LoadTestNamespace.completedOf(results.get(1));
    assert.equal(fastSummary?.requests?.total, fastCompleted, 'fast: its runner’s requests');
    assert.equal(slowSummary?.requests?.total, slowCompleted, 'slow: its runner’s requests');
    assert.equal(lt.status?.summary?.requests?.total, fastCompleted + slowCompleted, 'summary: the sum');
    assert.equal(fastSummary?.tokens?.output, fastCompleted * outputTokens);
    assert.equal(slowSummary?.tokens?.output, slowCompleted * outputTokens);
    assert.equal(lt.status?.summary?.tokens?.output, (fastCompleted + slowCompleted) * outputTokens);
    assert.equal(lt.status?.summary?.errors?.total, 0);

    // Each target's requests went to its own server: neither sim rejected a request for a model it does not serve.
    assert.equal(fast?.stats().rejected, 0);
    assert.equal(slow?.stats().rejected, 0);
    assert.ok((fast?.stats().completed ?? 0) >= fastCompleted, 'the fast sim served the fast target');
    assert.ok((slow?.stats().completed ?? 0) >= slowCompleted, 'the slow sim served the slow target');

    // A target's TTFT is never below its sim's (so no request of the fast sim is in the slow target's numbers),
    // and its median is near it (p50: a few requests delayed by a busy machine do not move it).
    const fastTtft = ttftMicroseconds(fastSummary, 'fast');
    const slowTtft = ttftMicroseconds(slowSummary, 'slow');
    const mergedTtft = ttftMicroseconds(lt.status?.summary, 'the merged summary');
    assert.ok(fastTtft.min >= fastTtftMs * 950, `fast TTFT min ${fastTtft.min}µs ≥ the sim's ${fastTtftMs}ms`);
    assert.ok(slowTtft.min >= slowTtftMs * 950, `slow TTFT min ${slowTtft.min}µs ≥ the sim's ${slowTtftMs}ms`);
    assert.ok(fastTtft.p50 <= (fastTtftMs + ttftToleranceMs) * 1000, `fast TTFT p50 ${fastTtft.p50}µs`);
    assert.ok(slowTtft.p50 <= (slowTtftMs + ttftToleranceMs) * 1000, `slow TTFT p50 ${slowTtft.p50}µs`);
    // The merge: extremes are the targets' extremes, and p95 lies between the targets' p95.
    assert.equal(mergedTtft.min, Math.min(fastTtft.min, slowTtft.min));
    assert.equal(mergedTtft.max, Math.max(fastTtft.max, slowTtft.max));
    assert.ok(
      mergedTtft.p95 >= Math.min(fastTtft.p95, slowTtft.p95) && mergedTtft.p95 <= Math.max(fastTtft.p95, slowTtft.p95),
      `merged TTFT p95 ${mergedTtft.p95}µs lies between the targets' ${fastTtft.p95}µs and ${slowTtft.p95}µs`,
    );
    assert.equal(lt.status?.summary?.ttft?.samples, fastCompleted + slowCompleted);

    const [wide] = (await ns.printed(['-o', 'wide'])).filter((row) => row.NAME === 'pair');
    assert.equal(wide?.PHASE, 'Succeeded');
    const printedP95 = milliseconds(wide?.['TTFT-P95']) * 1000;
    assert.ok(
      Math.abs(printedP95 - mergedTtft.p95) <= mergedTtft.p95 * 0.01,
      `the printed TTFT-P95 ${wide?.['TTFT-P95']} is the merged one (${mergedTtft.p95}µs)`,
    );
    assert.equal(wide?.TARGET, 'fast', 'wide output names the first target');
    assert.equal(wide?.MODEL, 'model-fast');
  });
});
