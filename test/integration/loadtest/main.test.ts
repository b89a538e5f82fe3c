/**
 * `loadlm-operator` as a process: bad configuration exits 2 naming the flag and its env var; against the test
 * cluster it serves /healthz, /readyz and /metrics, takes the Lease, and on SIGTERM releases it and exits 0.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { envNames, fromEnv, repoRoot, waitFor } from '../../cluster/index.ts';
import { installCrds } from '../../support/crds.ts';

const mainPath = join(repoRoot, 'operator', 'main.ts');
const cluster = fromEnv();
let namespace = '';

before(async () => {
  await installCrds(cluster);
  namespace = await cluster.createNamespace('loadtest-main');
});
after(() => cluster.stop());

function run(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [mainPath, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function collect(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

describe('loadlm-operator process', () => {
  it('rejects a bad flag value with exit code 2, naming the flag and its env var', async () => {
    const { code, stderr } = await collect(run(['--http-port=eighty']));
    assert.equal(code, 2);
    assert.match(stderr, /--http-port \(env LOADLM_HTTP_PORT\): expected an integer from 0 to 65535, got "eighty"/);
  });

  it('rejects a bad env value the same way', async () => {
    const { code, stderr } = await collect(run([], { LOADLM_LOG_LEVEL: 'loud' }));
    assert.equal(code, 2);
    assert.match(stderr, /--log-level \(env LOADLM_LOG_LEVEL\): expected one of/);
  });

  it('serves health and metrics, leads, and stops gracefully on SIGTERM', async () => {
    const kubeconfig = cluster.env()[envNames.kubeconfig] ?? '';
    const child = run(
      [
        '--http-port=0',
        '--http-host=127.0.0.1',
        `--namespaces=${namespace}`,
        `--leader-election-namespace=${namespace}`,
      ],
      { KUBECONFIG: kubeconfig },
    );
    const exited = collect(child);
    let port = 0;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const match = /"address":"127\.0\.0\.1:(\d+)"/.exec(line);
      if (match) port = Number(match[1]);
    });
    try {
      await waitFor('the HTTP address in the log', () => port || undefined, { timeoutMs: 20_000 });
      const base = `http://127.0.0.1:${port}`;
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      await waitFor('/readyz 200', async () => (await fetch(`${base}/readyz`)).status === 200, { timeoutMs: 20_000 });
      await waitFor('leadership in /metrics', async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return /leader_election_master_status\{[^}]*\} 1/.test(text);
      });
      const lease = async () =>
        JSON.parse(
          (await cluster.kubectl(['get', 'lease', 'loadlm-operator', '-o', 'json'], { namespace })).stdout,
        ) as {
          spec: { holderIdentity?: string };
        };
      assert.ok((await lease()).spec.holderIdentity, 'the Lease has a holder');
      child.kill('SIGTERM');
      const { code } = await exited;
      assert.equal(code, 0);
      assert.ok(!(await lease()).spec.holderIdentity, 'the Lease was released');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
