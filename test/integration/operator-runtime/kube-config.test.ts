/**
 * Connections without client-node: the test cluster's kubeconfig through the runtime's own loader, and an
 * in-cluster service-account layout (token, CA, namespace files) pointing at the same apiserver.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { KubeClient } from '../../../operator/runtime/kube-client.ts';
import {
  connectionFromKubeconfig,
  inClusterConnection,
  loadConnection,
} from '../../../operator/runtime/kube-config.ts';
import { resources } from '../../../operator/runtime/resources.ts';
import { type ClusterHandle, fromEnv } from '../../cluster/index.ts';

interface Kubeconfig {
  clusters: { name: string; cluster: Record<string, string> }[];
  users: { name: string; user: Record<string, string> }[];
  contexts: { name: string; context: Record<string, string> }[];
  'current-context': string;
}

let cluster: ClusterHandle;
let dir: string;
let original: Kubeconfig;

before(() => {
  cluster = fromEnv();
  dir = mkdtempSync(join(tmpdir(), 'rt-kubeconfig-'));
  original = parse(readFileSync(cluster.kubeconfigPath, 'utf8')) as Kubeconfig;
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function namespaceCount(client: KubeClient): Promise<number> {
  try {
    const list = await client.list(resources.namespaces);
    return list.items.length;
  } finally {
    await client.close();
  }
}

function first<T>(items: T[] | undefined, what: string): T {
  const item = items?.[0];
  if (!item) throw new Error(`the test kubeconfig has no ${what}`);
  return item;
}

describe('cluster connections', () => {
  it('reads a kubeconfig (token, CA data) and reaches the apiserver', async () => {
    const connection = await connectionFromKubeconfig(cluster.kubeconfigPath);
    assert.equal(connection.server, cluster.server);
    assert.ok(connection.tls.ca && connection.tls.ca.length > 0);
    assert.doesNotMatch(connection.source, /token/i);
    assert.ok((await namespaceCount(KubeClient.fromConnection(connection))) > 0);
  });

  it('resolves relative file paths, a token file, and a named context', async () => {
    const clusterEntry = first(original.clusters, 'cluster');
    const userEntry = first(original.users, 'user');
    writeFileSync(join(dir, 'ca.crt'), Buffer.from(clusterEntry.cluster['certificate-authority-data'] ?? '', 'base64'));
    writeFileSync(join(dir, 'token'), `${userEntry.user.token}\n`);
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'wrong',
      clusters: [{ name: 'c', cluster: { server: clusterEntry.cluster.server, 'certificate-authority': 'ca.crt' } }],
      users: [{ name: 'u', user: { tokenFile: 'token' } }],
      contexts: [
        { name: 'wrong', context: { cluster: 'missing', user: 'u' } },
        { name: 'right', context: { cluster: 'c', user: 'u', namespace: 'team-a' } },
      ],
    };
    const path = join(dir, 'kubeconfig');
    writeFileSync(path, stringify(config));
    await assert.rejects(connectionFromKubeconfig(path), /cluster "missing" of context "wrong" not found/);
    const connection = await connectionFromKubeconfig(path, 'right');
    assert.equal(connection.namespace, 'team-a');
    assert.ok((await namespaceCount(KubeClient.fromConnection(connection))) > 0);

    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = `${path}:/does/not/matter`;
    try {
      await assert.rejects(loadConnection(), /context "wrong"/, '$KUBECONFIG is used first');
      const viaEnv = await loadConnection({ context: 'right' });
      assert.equal(viaEnv.source, `kubeconfig ${path}, context right`);
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });

  it('uses the in-cluster service account layout', async () => {
    const clusterEntry = first(original.clusters, 'cluster');
    const userEntry = first(original.users, 'user');
    const serviceAccount = join(dir, 'serviceaccount');
    mkdirSync(serviceAccount, { recursive: true });
    writeFileSync(join(serviceAccount, 'token'), userEntry.user.token ?? '');
    writeFileSync(
      join(serviceAccount, 'ca.crt'),
      Buffer.from(clusterEntry.cluster['certificate-authority-data'] ?? '', 'base64'),
    );
    writeFileSync(join(serviceAccount, 'namespace'), 'loadlm-system');
    const server = new URL(cluster.server);
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    process.env.KUBERNETES_SERVICE_HOST = server.hostname;
    process.env.KUBERNETES_SERVICE_PORT = server.port;
    try {
      const connection = inClusterConnection(serviceAccount);
      assert.equal(connection.namespace, 'loadlm-system');
      assert.equal(connection.server, `https://${server.hostname}:${server.port}`);
      assert.ok((await namespaceCount(KubeClient.fromConnection(connection))) > 0);
    } finally {
      for (const [key, value] of Object.entries({
        KUBERNETES_SERVICE_HOST: saved.host,
        KUBERNETES_SERVICE_PORT: saved.port,
      })) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it('names the missing piece when a configuration is unusable', async () => {
    await assert.rejects(connectionFromKubeconfig(join(dir, 'nope')), /kubeconfig: cannot read .*nope: ENOENT/);
    assert.throws(() => inClusterConnection(join(dir, 'empty')), /KUBERNETES_SERVICE_HOST|cannot read/);
  });
});
