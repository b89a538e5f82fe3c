/**
 * A corrupt or a missing runner result, end to end: parallelism 2, where runner 1 is a test-only image
 * (fault-runner.ts) that passes the start barrier like a real runner and then writes garbage, or nothing, while
 * runner 0 is the real runner against `loadlm sim`. The LoadTest fails with a reason naming runner 1 and its
 * ConfigMap, and runner 0's results are still merged into status.summary and the report.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningOperator } from '../../../operator/main.ts';
import { startSimulator } from '../../../runner/sim/index.ts';
import type { SimulatorHandle } from '../../../runner/sim/server.ts';
import { fromEnv, type ImageMap, type PodExecutor } from '../../cluster/index.ts';
import { installCrds } from '../../support/crds.ts';
import { startRunnerExecutor, startTestOperator } from '../../support/operator.ts';
import { LoadTestNamespace, loadTestManifest } from './helpers.ts';

const cluster = fromEnv();
let ns: LoadTestNamespace;
let executor: PodExecutor | undefined;
let sim: SimulatorHandle | undefined;
let operator: RunningOperator | undefined;

const faultRunner = join(import.meta.dirname, 'fault-runner.ts');
const faultImage = (fault: 'corrupt' | 'missing') => `loadlm.test/fault-runner-${fault}`;
const faultImages: ImageMap = Object.fromEntries(
  (['corrupt', 'missing'] as const).map((fault) => [
    faultImage(fault),
    {
      entrypoint: [process.execPath, faultRunner],
      env: { LOADLM_TEST_FAULT: fault, LOADLM_TEST_FAULT_INDEX: '1' },
    },
  ]),
);

before(async () => {
  await installCrds(cluster);
  ns = new LoadTestNamespace(cluster, await cluster.createNamespace('loadtest-results'));
  sim = await startSimulator({ port: 0, ttftMs: 20, itlMs: 5 });
  executor = await startRunnerExecutor(cluster, [ns.namespace], faultImages);
  operator = await startTestOperator(cluster, { namespaces: [ns.namespace] });
});

after(async () => {
  await operator?.stop();
  await executor?.stop();
  await sim?.close();
  await cluster.stop();
});

interface ReportJson {
  outcome: { reason: string; message: string };
  summary: { requests: { completed: number } };
  runners: { index: number; requests: { completed: number } }[];
  problems: { index: number; reason: string; message: string }[];
}

async function runWithFault(name: string, fault: 'corrupt' | 'missing') {
  const target = { name: 'sim', url: sim?.url ?? '', model: 'mistralai/Mistral-7B-Instruct-v0.3' };
  await ns.apply(
    loadTestManifest(name, [target], {
      parallelism: 2,
      load: { profile: 'constant', rate: 4, durationSeconds: 4 },
      runner: { image: `${faultImage(fault)}:1` },
      cleanupPolicy: 'Never',
    }),
  );
  // The Job completes (both runners exit 0); the operator then gives the missing final result a grace period.
  const reason = fault === 'corrupt' ? 'RunnerResultInvalid' : 'RunnerResultMissing';
  const { lt, message } = await ns.expectFailed(name, reason, 120_000);
  const results = await ns.results(name);
  const runner0 = LoadTestNamespace.completedOf(results.get(0));
  // Runner 0's requests are reported, exactly: nothing of runner 1 is counted.
  assert.equal(lt.status?.summary?.requests?.total, runner0, 'status.summary holds runner 0 exactly');
  assert.match(message, /the other runners' results are in status\.summary and the report$/);
  assert.deepEqual(lt.status?.reportRef, { name: `${name}-report`, key: 'report.json' });
  const reportMap = await ns.getJson<{ data: Record<string, string> }>(['get', 'configmap', `${name}-report`]);
  const report = JSON.parse(reportMap.data['report.json'] ?? '{}') as ReportJson;
  assert.equal(report.outcome.reason, reason);
  assert.equal(report.summary.requests.completed, runner0);
  assert.deepEqual(
    report.runners.map((runner) => runner.index),
    [0],
  );
  assert.deepEqual(
    report.problems.map((problem) => [problem.index, problem.reason]),
    [[1, reason]],
  );
  await ns.waitForWarningInDescribe(name, reason);
  assert.equal((await ns.jobs(name)).length, 1, 'one runner Job');
  return message;
}

describe('runner result faults', () => {
  it('a corrupt result fails the test naming runner 1 and its ConfigMap; runner 0 is still merged', async () => {
    const message = await runWithFault('corrupt', 'corrupt');
    assert.match(message, /^runner 1 \(corrupt-result-1, pod corrupt-runners-1-\w+\): result\.json: not valid JSON/);
  });

  it('a missing result fails the test naming runner 1 and its ConfigMap; runner 0 is still merged', async () => {
    const message = await runWithFault('missing', 'missing');
    assert.match(message, /^runner 1 \(missing-result-1, pod missing-runners-1-\w+\): no result was written/);
    assert.match(message, /it reported ready, then nothing/);
  });
});
