/**
 * LoadTest failure cases end to end (operator in-process, pod executor, loadlm sim on loopback): each ends in
 * Failed=True with its CamelCase reason within a deadline.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { LoadTest } from '../../../api/loadtest.ts';
import type { RunningOperator } from '../../../operator/main.ts';
import { fromEnv, type PodExecutor, waitFor } from '../../cluster/index.ts';
import { installCrds } from '../../support/crds.ts';
import { startRunnerExecutor, startTestOperator } from '../../support/operator.ts';

const cluster = fromEnv();
let namespace = '';
let executor: PodExecutor | undefined;
let operator: RunningOperator | undefined;

before(async () => {
  await installCrds(cluster);
  namespace = await cluster.createNamespace('loadtest-fail');
  executor = await startRunnerExecutor(cluster, [namespace]);
  operator = await startTestOperator(cluster, { namespaces: [namespace] });
});

after(async () => {
  await operator?.stop();
  await executor?.stop();
  await cluster.stop();
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function manifest(name: string, url: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'loadlm.dev/v1alpha1',
    kind: 'LoadTest',
    metadata: { name },
    spec: {
      targets: [{ name: 'sim', url, model: 'm' }],
      load: { profile: 'constant', rate: 5, durationSeconds: 6 },
      data: { promptTokens: { type: 'fixed', value: 16 }, outputTokens: { type: 'fixed', value: 4 } },
      startupDeadlineSeconds: 10,
      ...extra,
    },
  });
}

async function getLoadTest(name: string): Promise<LoadTest> {
  const { stdout } = await cluster.kubectl(['get', 'loadtest', name, '-o', 'json'], { namespace });
  return JSON.parse(stdout) as LoadTest;
}

async function waitForFailed(name: string, timeoutMs = 60_000) {
  const lt = await waitFor(
    `LoadTest ${name} to finish`,
    async () => {
      const current = await getLoadTest(name);
      return ['Failed', 'Succeeded', 'ThresholdsBreached'].includes(current.status?.phase ?? '') ? current : undefined;
    },
    {
      timeoutMs,
      intervalMs: 500,
      describe: async () => JSON.stringify((await getLoadTest(name)).status?.conditions ?? []),
    },
  );
  const failed = lt.status?.conditions?.find((condition) => condition.type === 'Failed');
  assert.equal(lt.status?.phase, 'Failed', JSON.stringify(lt.status?.conditions));
  assert.equal(failed?.status, 'True');
  return failed;
}

async function warningReasons(name: string): Promise<string[]> {
  const { stdout } = await cluster.kubectl(
    ['get', 'events.events.k8s.io', '--field-selector', `regarding.name=${name}`, '-o', 'json'],
    { namespace },
  );
  const events = JSON.parse(stdout) as { items: { type: string; reason: string }[] };
  return events.items.filter((event) => event.type === 'Warning').map((event) => event.reason);
}

describe('LoadTest failures', () => {
  it('an unreachable endpoint ends in TargetUnreachable with the URL in the message', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    await cluster.kubectl(['apply', '-f', '-'], { input: manifest('unreachable', url), namespace });
    const failed = await waitForFailed('unreachable');
    assert.equal(failed?.reason, 'TargetUnreachable');
    assert.match(failed?.message ?? '', new RegExp(url.replace(/\./g, '\\.')));
    await waitFor('a Warning event TargetUnreachable', async () =>
      (await warningReasons('unreachable')).includes('TargetUnreachable'),
    );
    // The load stops at once: the Job is suspended (kept for debugging: OnSuccess keeps failed runs) and its
    // pods are gone.
    await waitFor('the runner Job suspended and its pods gone', async () => {
      const { stdout } = await cluster.kubectl(['get', 'job', 'unreachable-runners', '-o', 'json'], { namespace });
      const job = JSON.parse(stdout) as { spec: { suspend?: boolean }; status: { active?: number } };
      const pods = await cluster.kubectl(['get', 'pods', '-l', 'loadlm.dev/loadtest=unreachable', '-o', 'name'], {
        namespace,
      });
      return job.spec.suspend === true && !job.status.active && pods.stdout.trim() === '';
    });
  });

  it('an image that cannot be pulled fails by the startup deadline with ImagePullBackOff', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const input = manifest('badimage', url, { runner: { image: 'registry.invalid/nothing:1' } });
    await cluster.kubectl(['apply', '-f', '-'], { input, namespace });
    const failed = await waitForFailed('badimage', 40_000);
    assert.equal(failed?.reason, 'ImagePullBackOff');
    assert.match(failed?.message ?? '', /registry\.invalid\/nothing:1/);
  });

  it('deleting a LoadTest mid-run stops its runners and collects its children', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const input = manifest('deleted', url, { load: { profile: 'constant', rate: 1, durationSeconds: 600 } });
    await cluster.kubectl(['apply', '-f', '-'], { input, namespace });
    await waitFor('a runner pod', async () => {
      const { stdout } = await cluster.kubectl(['get', 'pods', '-l', 'loadlm.dev/loadtest=deleted', '-o', 'name'], {
        namespace,
      });
      return stdout.trim().length > 0;
    });
    await cluster.kubectl(['delete', 'loadtest', 'deleted', '--wait=true'], { namespace });
    await waitFor(
      'the runner pods, Job and ConfigMaps to be gone',
      async () => {
        const { stdout } = await cluster.kubectl(
          ['get', 'pods,jobs,configmaps,services', '-l', 'loadlm.dev/loadtest=deleted', '-o', 'name'],
          { namespace },
        );
        return stdout.trim() === '';
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  });
});
