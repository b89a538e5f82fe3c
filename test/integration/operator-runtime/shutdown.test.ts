/**
 * SIGTERM on a real operator process: it stops taking work, finishes the reconcile in flight, releases the
 * Lease, and exits by itself with code 0.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import type { KubeClient } from '../../../operator/runtime/kube-client.ts';
import type { Lease } from '../../../operator/runtime/leader-election.ts';
import { type KubeObject, resources } from '../../../operator/runtime/resources.ts';
import { type ClusterHandle, fromEnv, waitFor } from '../../cluster/index.ts';
import { newClient } from './helpers.ts';

let cluster: ClusterHandle;
let namespace: string;
let writer: KubeClient;
let child: ChildProcess | undefined;

before(async () => {
  cluster = fromEnv();
  namespace = await cluster.createNamespace('rt-sigterm');
  ({ client: writer } = await newClient(cluster.kubeConfig()));
});

after(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await writer?.close();
  await cluster?.stop();
});

describe('graceful shutdown', () => {
  it('on SIGTERM finishes the in-flight reconcile, releases the lease and exits 0', async () => {
    const lease = 'sigterm-test';
    const script = join(import.meta.dirname, 'fixtures', 'operator-process.ts');
    child = spawn(process.execPath, [script], {
      env: { ...process.env, NAMESPACE: namespace, LEASE: lease, RECONCILE_MS: '1500' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const lines: Record<string, unknown>[] = [];
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    });
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const describeChild = () => `stdout ${JSON.stringify(lines)}; stderr ${stderr.slice(-2000)}`;

    const leading = await waitFor('the operator process to lead', () => lines.find((line) => line.leading), {
      timeoutMs: 30_000,
      describe: describeChild,
    });
    const identity = leading.identity as string;
    const port = leading.port as number;
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
    const before = await writer.get<Lease>(resources.leases, namespace, lease);
    assert.equal(before.spec?.holderIdentity, identity);

    await writer.create(resources.configMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'in-flight', namespace, labels: { app: 'sigterm' } },
    });
    await waitFor('the reconcile to start', () => lines.some((line) => line.reconcileStarted), {
      timeoutMs: 10_000,
      describe: describeChild,
    });
    child.kill('SIGTERM');

    const [code, signal] = await Promise.race([
      exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`the process did not exit within 20 s: ${describeChild()}`)), 20_000).unref(),
      ),
    ]);
    assert.equal(signal, null, describeChild());
    assert.equal(code, 0, describeChild());
    assert.ok(
      lines.some((line) => line.reconcileFinished === `${namespace}/in-flight`),
      `the in-flight reconcile finished: ${describeChild()}`,
    );
    const configMap = await writer.get<KubeObject>(resources.configMaps, namespace, 'in-flight');
    assert.equal(configMap.metadata?.labels?.reconciled, 'yes', 'its write reached the apiserver');
    const released = await writer.get<Lease>(resources.leases, namespace, lease);
    assert.equal(released.spec?.holderIdentity ?? '', '', 'the lease was released');
    assert.equal(released.spec?.leaseDurationSeconds, 1);
  });
});
