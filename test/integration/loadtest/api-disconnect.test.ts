/**
 * The operator loses its apiserver connection mid-run (end to end: operator in-process behind a TCP proxy, pod
 * executor, real runner, `loadlm sim`). Every connection is cut and new ones are refused while the run ends
 * (final results written, Job complete), so every event of the run's end happens while the operator is blind;
 * once the connection is back, its watches resume and the LoadTest still ends Succeeded with a complete summary.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningOperator } from '../../../operator/main.ts';
import { startSimulator } from '../../../runner/sim/index.ts';
import type { SimulatorHandle } from '../../../runner/sim/server.ts';
import { fromEnv, type PodExecutor, waitFor } from '../../cluster/index.ts';
import { installCrds } from '../../support/crds.ts';
import { startRunnerExecutor, startTestOperator } from '../../support/operator.ts';
import { hostPort, startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.ts';
import { LoadTestNamespace, loadTestManifest } from './helpers.ts';

const cluster = fromEnv();
let ns: LoadTestNamespace;
let executor: PodExecutor | undefined;
let sim: SimulatorHandle | undefined;
let operator: RunningOperator | undefined;
let proxy: TcpProxy | undefined;

before(async () => {
  await installCrds(cluster);
  ns = new LoadTestNamespace(cluster, await cluster.createNamespace('loadtest-disconnect'));
  sim = await startSimulator({ port: 0, ttftMs: 20, itlMs: 5 });
  executor = await startRunnerExecutor(cluster, [ns.namespace]);
  proxy = await startTcpProxy(hostPort(cluster.server));
  operator = await startTestOperator(cluster, {
    namespaces: [ns.namespace],
    server: `https://127.0.0.1:${proxy.port}`,
  });
});

after(async () => {
  proxy?.restore();
  await operator?.stop();
  await proxy?.close();
  await executor?.stop();
  await sim?.close();
  await cluster.stop();
});

describe('apiserver connection loss', () => {
  it('connections cut and refused while the run ends: watches resume and the LoadTest succeeds', async () => {
    const target = { name: 'sim', url: sim?.url ?? '', model: 'mistralai/Mistral-7B-Instruct-v0.3' };
    await ns.apply(
      loadTestManifest('blind', [target], {
        parallelism: 2,
        load: { profile: 'constant', rate: 4, durationSeconds: 8 },
        cleanupPolicy: 'Never',
      }),
    );
    await ns.waitForRunning('blind');
    assert.ok(proxy && proxy.open > 0, 'the operator talks to the apiserver through the proxy');
    const acceptedBeforeCut = proxy.accepted;
    proxy.cut();
    // Seen by the test's own client: the run ends while the operator cannot see it, and it keeps trying.
    await waitFor(
      'the Job to complete with every final result written, while the operator keeps being refused',
      async () => {
        const [job] = await ns.jobs('blind');
        const complete = job?.status.conditions?.some((c) => c.type === 'Complete' && c.status === 'True');
        const results = [...(await ns.results('blind')).values()];
        const finished = results.length === 2 && results.every((cm) => cm.data?.phase === 'Finished');
        return complete && finished && (proxy?.refused ?? 0) > 0;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const blind = await ns.get('blind');
    assert.notEqual(blind.status?.phase, 'Succeeded', 'the operator could not have seen the end yet');
    proxy.restore();
    const lt = await ns.waitForFinished('blind', 90_000);
    assert.equal(lt.status?.phase, 'Succeeded', JSON.stringify(lt.status?.conditions));
    const results = await ns.results('blind');
    const sum = LoadTestNamespace.completedOf(results.get(0)) + LoadTestNamespace.completedOf(results.get(1));
    assert.equal(lt.status?.summary?.requests?.total, sum, 'the summary holds every runner’s final result');
    assert.equal(lt.status?.progress?.percent, '100%');
    assert.equal(lt.status?.summary?.ttft?.samples, sum, 'a TTFT sample for every request');
    assert.ok(lt.status?.reportRef, 'status.reportRef');
    assert.equal((await ns.jobs('blind')).length, 1, 'one runner Job');
    assert.ok(proxy.accepted > acceptedBeforeCut, 'the operator reconnected through the proxy');
  });
});
