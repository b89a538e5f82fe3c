/**
 * The literal examples/quickstart.yaml through the whole chain (operator in-process, pod executor, real runner,
 * `loadlm sim` standing in for vLLM): applied with kubectl, it ends Succeeded, and `kubectl get loadtests` (and
 * `-o wide`) show the values the simulator's configuration implies.
 *
 * Only the target URL changes: the file names an in-cluster vLLM Service
 * (http://mistral-7b-predictor.development.svc.cluster.local:8012) whose DNS name cannot resolve on this
 * machine, so it is pointed at the simulator on loopback. Everything else (2 requests/s for 60 s after a 5 s
 * warmup, 256 prompt and 128 output tokens, the model name) is the file's.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import type { RunningOperator } from '../../../operator/main.ts';
import { startSimulator } from '../../../runner/sim/index.ts';
import type { SimulatorHandle } from '../../../runner/sim/server.ts';
import { readQuickstart } from '../../../scripts/quickstart/manifest.ts';
import { fromEnv, type PodExecutor, repoRoot } from '../../cluster/index.ts';
import { installCrds } from '../../support/crds.ts';
import { startRunnerExecutor, startTestOperator } from '../../support/operator.ts';
import { LoadTestNamespace, milliseconds } from './helpers.ts';

const exampleFile = join(repoRoot, 'examples', 'quickstart.yaml');
const simTtftMs = 40;
const simItlMs = 2;
/**
 * TTFT is measured from the scheduled send time, so it is never below the sim's; CPU starvation of the runner adds
 * to it. The tolerance applies to the median: on this shared 2-core machine the p95 (the slowest 6 of 110
 * requests) was seen from 70 ms to 1.5 s while other benchmarks saturated it, so the p95 gets only the bounds
 * that hold under any load (never below the sim's TTFT, and below the requests' end-to-end latency).
 */
const p50ToleranceMs = 120;

const cluster = fromEnv();
let ns: LoadTestNamespace;
let executor: PodExecutor | undefined;
let sim: SimulatorHandle | undefined;
let operator: RunningOperator | undefined;

before(async () => {
  await installCrds(cluster);
  ns = new LoadTestNamespace(cluster, await cluster.createNamespace('loadtest-quickstart'));
  sim = await startSimulator({ port: 0, ttftMs: simTtftMs, itlMs: simItlMs });
  executor = await startRunnerExecutor(cluster, [ns.namespace]);
  operator = await startTestOperator(cluster, { namespaces: [ns.namespace] });
});

after(async () => {
  await operator?.stop();
  await executor?.stop();
  await sim?.close();
  await cluster.stop();
});

describe('examples/quickstart.yaml', () => {
  it('ends Succeeded and kubectl get loadtests shows its results', async () => {
    const text = await readFile(exampleFile, 'utf8');
    const quickstart = readQuickstart(text, 'examples/quickstart.yaml');
    const { load } = (
      parse(text) as { spec: { load: { rate: number; durationSeconds: number; warmupSeconds: number } } }
    ).spec;
    assert.deepEqual(quickstart.models, ['mistralai/Mistral-7B-Instruct-v0.3'], 'the model the simulator serves');
    await ns.cluster.kubectl(['apply', '-f', '-'], {
      input: quickstart.pointedAt(sim?.url ?? ''),
      namespace: ns.namespace,
    });
    const lt = await ns.waitForFinished(quickstart.name, 180_000);
    assert.equal(lt.status?.phase, 'Succeeded', JSON.stringify(lt.status?.conditions));
    // The measured window is the duration after the warmup: 2 requests/s for 55 s.
    const planned = load.rate * (load.durationSeconds - load.warmupSeconds);
    const total = lt.status?.summary?.requests?.total ?? 0;
    assert.ok(Math.abs(total - planned) <= 2, `about ${planned} requests measured, got ${total}`);

    const [row] = (await ns.printed()).filter((r) => r.NAME === quickstart.name);
    assert.ok(row, `kubectl get loadtests lists ${quickstart.name}`);
    assert.equal(row.PHASE, 'Succeeded');
    assert.equal(row.PROFILE, 'constant');
    assert.equal(row.RUNNERS, '1');
    assert.equal(row.PROGRESS, '100%');
    assert.equal(row.ERRORS, '0');
    const ttft = lt.status?.summary?.ttft?.microseconds ?? {};
    const e2e = lt.status?.summary?.e2e?.microseconds ?? {};
    const shown = JSON.stringify({ ttft, e2e, late: lt.status?.summary?.requests?.late });
    const printedP95 = milliseconds(row['TTFT-P95']);
    assert.ok(
      Math.abs(printedP95 * 1000 - (ttft.p95 ?? 0)) <= printedP95 * 10,
      `the printed TTFT-P95 ${row['TTFT-P95']} is status.summary.ttft.p95 (${shown})`,
    );
    assert.ok(printedP95 >= simTtftMs * 0.95, `TTFT-P95 ${printedP95}ms is never below the sim's ${simTtftMs}ms`);
    const p50 = (ttft.p50 ?? 0) / 1000;
    assert.ok(p50 >= simTtftMs * 0.95 && p50 <= simTtftMs + p50ToleranceMs, `TTFT p50 ${p50}ms (${shown})`);
    // The first token, not the last: after it the sim still streams 127 tokens 2 ms apart.
    const streamMs = 127 * simItlMs;
    assert.ok(((e2e.p50 ?? 0) - (ttft.p50 ?? 0)) / 1000 >= streamMs * 0.95, `e2e p50 − TTFT p50 ≥ ${streamMs}ms`);
    const tpot = milliseconds(row['TPOT-P95']);
    assert.ok(tpot >= simItlMs * 0.95, `TPOT-P95 ${tpot}ms is never below the sim's ${simItlMs}ms ITL`);
    const tpotP50 = (lt.status?.summary?.tpot?.microseconds?.p50 ?? 0) / 1000;
    assert.ok(tpotP50 <= simItlMs + 10, `TPOT p50 ${tpotP50}ms vs the sim's ${simItlMs}ms ITL`);
    const requestsPerSecond = Number(row['REQ/S']);
    assert.ok(requestsPerSecond >= 1.6 && requestsPerSecond <= 2.4, `Req/s ${row['REQ/S']} at a rate of 2/s`);
    // Every response is exactly 128 tokens (fixed output length, the sim honours max_tokens with ignore_eos).
    const tokensPerRequest = Number(row['TOK/S']) / requestsPerSecond;
    assert.ok(Math.abs(tokensPerRequest - 128) <= 128 * 0.03, `Tok/s ${row['TOK/S']} ≈ 128 × Req/s`);

    const [wide] = (await ns.printed(['-o', 'wide'])).filter((r) => r.NAME === quickstart.name);
    assert.equal(wide?.TARGET, 'mistral-7b');
    assert.equal(wide?.MODEL, 'mistralai/Mistral-7B-Instruct-v0.3');
    assert.equal(wide?.['TTFT-P95'], row['TTFT-P95'], 'wide output has the same columns plus Target and Model');
    process.stderr.write(`quickstart: ${JSON.stringify(wide)}\n`);
  });
});
