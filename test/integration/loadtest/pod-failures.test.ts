/**
 * Runner pod failures end to end (operator in-process, pod executor running the real runner, `loadlm sim` on
 * loopback): OOMKilled, Unschedulable, DeadlineExceeded and a runner pod lost mid-run. Each ends Failed=True
 * with its CamelCase reason and a message that says what to change, shows a Warning event in
 * `kubectl describe`, leaves no runner pod running (no hanging), and never makes a second Job.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningOperator } from '../../../operator/main.ts';
import { startSimulator } from '../../../runner/sim/index.ts';
import type { SimulatorHandle } from '../../../runner/sim/server.ts';
import { fromEnv, type PodExecutor, waitFor } from '../../cluster/index.ts';
import { installCrds } from '../../support/crds.ts';
import { startRunnerExecutor, startTestOperator } from '../../support/operator.ts';
import { LoadTestNamespace, loadTestManifest } from './helpers.ts';

const cluster = fromEnv();
let ns: LoadTestNamespace;
let executor: PodExecutor | undefined;
let sim: SimulatorHandle | undefined;
let operator: RunningOperator | undefined;

before(async () => {
  await installCrds(cluster);
  ns = new LoadTestNamespace(cluster, await cluster.createNamespace('loadtest-pods'));
  sim = await startSimulator({ port: 0, ttftMs: 20, itlMs: 5 });
  executor = await startRunnerExecutor(cluster, [ns.namespace]);
  operator = await startTestOperator(cluster, { namespaces: [ns.namespace] });
});

after(async () => {
  await operator?.stop();
  await executor?.stop();
  await sim?.close();
  await cluster.stop();
});

function manifest(name: string, spec: Record<string, unknown>) {
  const target = { name: 'sim', url: sim?.url ?? '', model: 'mistralai/Mistral-7B-Instruct-v0.3' };
  return loadTestManifest(name, [target], spec);
}

/** After a failure: exactly one Job ever, suspended, and no runner pod left running. */
async function expectStoppedWithOneJob(name: string): Promise<void> {
  const jobs = await ns.jobs(name);
  assert.equal(jobs.length, 1, `exactly one runner Job for ${name}`);
  await waitFor(
    `the runner pods of ${name} to be gone or finished`,
    async () => {
      const pods = await ns.pods(name);
      return pods.every((pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed');
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  const [job] = await ns.jobs(name);
  assert.equal(job?.metadata.uid, jobs[0]?.metadata.uid, 'the same Job, never a second one');
}

describe('runner pod failures', () => {
  it('a runner over its memory limit ends in OOMKilled naming the limit and the field to raise', async () => {
    await ns.apply(manifest('oom', { runner: { resources: { limits: { memory: '16Mi' } } } }));
    const { message } = await ns.expectFailed('oom', 'OOMKilled', 60_000);
    assert.match(message, /^runner 0 \(pod oom-runners-0-\w+\): container runner ran out of memory/);
    assert.match(message, /memory limit 16Mi/);
    assert.match(message, /spec\.runner\.resources\.limits\.memory/);
    await ns.waitForWarningInDescribe('oom', 'OOMKilled');
    await expectStoppedWithOneJob('oom');
  });

  it('a runner no node can take ends in Unschedulable by the startup deadline', async () => {
    await ns.apply(
      manifest('unschedulable', {
        runner: { nodeSelector: { 'loadlm.dev/test-pool': 'does-not-exist' } },
        startupDeadlineSeconds: 10,
      }),
    );
    const { message } = await ns.expectFailed('unschedulable', 'Unschedulable', 60_000);
    assert.match(message, /^runner 0 \(pod unschedulable-runners-0-\w+\) cannot be scheduled: /);
    assert.match(message, /spec\.runner\.nodeSelector/);
    await ns.waitForWarningInDescribe('unschedulable', 'Unschedulable');
    // The pending pod must not stay around waiting for a node: the Job is suspended and its pod deleted.
    await waitFor('the Job suspended and the pending pod gone', async () => {
      const [job] = await ns.jobs('unschedulable');
      return job?.spec.suspend === true && (await ns.pods('unschedulable')).length === 0;
    });
    await expectStoppedWithOneJob('unschedulable');
  });

  it('a run longer than spec.activeDeadlineSeconds ends in DeadlineExceeded naming the deadline', async () => {
    // The run cannot fit: the start alone comes 5 s (start lead) after every runner is ready, then 10 s of load.
    await ns.apply(
      manifest('deadline', {
        load: { profile: 'constant', rate: 2, durationSeconds: 10 },
        activeDeadlineSeconds: 11,
      }),
    );
    const { message } = await ns.expectFailed('deadline', 'DeadlineExceeded', 60_000);
    assert.match(message, /^runner Job deadline-runners ran longer than its activeDeadlineSeconds \(11s\)/);
    assert.match(message, /raise spec\.activeDeadlineSeconds/);
    await ns.waitForWarningInDescribe('deadline', 'DeadlineExceeded');
    await expectStoppedWithOneJob('deadline');
  });

  it('a runner pod deleted mid-run ends in RunnerLost and the other runner is stopped', async () => {
    await ns.apply(
      manifest('lost', {
        parallelism: 2,
        load: { profile: 'constant', rate: 2, durationSeconds: 30 },
        cleanupPolicy: 'Never',
      }),
    );
    await ns.waitForRunning('lost');
    // Mid-run: requests have completed.
    await waitFor(
      'requests completed',
      async () => ((await ns.get('lost')).status?.progress?.requestsCompleted ?? 0) > 0,
      { timeoutMs: 30_000, intervalMs: 250, describe: ns.statusText('lost') },
    );
    const victim = (await ns.pods('lost')).find(
      (pod) => pod.metadata.annotations?.['batch.kubernetes.io/job-completion-index'] === '1',
    );
    assert.ok(victim, 'runner 1 has a pod');
    await ns.kubectl(['delete', 'pod', victim.metadata.name, '--wait=false']);
    const { lt, message } = await ns.expectFailed('lost', 'RunnerLost', 60_000);
    assert.match(message, /^runner 1\b/);
    assert.match(message, /its share of the load was not sent|is not replaced/);
    // What runner 0 measured before the stop is still shown.
    assert.ok((lt.status?.summary?.requests?.total ?? 0) > 0 || (lt.status?.progress?.requestsCompleted ?? 0) > 0);
    await ns.waitForWarningInDescribe('lost', 'RunnerLost');
    await expectStoppedWithOneJob('lost');
    // backoffLimit 0: the lost runner is not replaced (its share would be sent twice).
    const replaced = (await ns.pods('lost')).filter(
      (pod) =>
        pod.metadata.annotations?.['batch.kubernetes.io/job-completion-index'] === '1' &&
        pod.metadata.name !== victim.metadata.name,
    );
    assert.deepEqual(
      replaced.map((pod) => pod.metadata.name),
      [],
      'no replacement pod for runner 1',
    );
  });
});
