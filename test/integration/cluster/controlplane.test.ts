/** The shared local control plane: versions, RBAC authorization, namespace isolation. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fromEnv, KubectlError } from '../../cluster/index.ts';

const cluster = fromEnv();
after(() => cluster.stop());

describe('local control plane', () => {
  it('serves the same Kubernetes version as the kubectl built with it', async () => {
    const { stdout } = await cluster.kubectl(['version', '-o', 'json']);
    const version = JSON.parse(stdout) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    assert.match(version.serverVersion.gitVersion, /^v1\.\d+\.\d+$/);
    assert.equal(version.clientVersion.gitVersion, version.serverVersion.gitVersion);
  });

  it('gives the admin kubeconfig system:masters and runs the controllers tests rely on', async () => {
    const whoami = JSON.parse((await cluster.kubectl(['auth', 'whoami', '-o', 'json'])).stdout);
    assert.ok(whoami.status.userInfo.groups.includes('system:masters'));
    const namespace = await cluster.createNamespace('controllers');
    // The serviceaccount controller made the default ServiceAccount (createNamespace waited for it); the
    // root-ca-certificate-publisher made the CA ConfigMap pods use.
    const { stdout } = await cluster.kubectl(
      ['get', 'configmap', 'kube-root-ca.crt', '-o', 'jsonpath={.data.ca\\.crt}'],
      {
        namespace,
      },
    );
    assert.match(stdout, /BEGIN CERTIFICATE/);
  });

  it('authorizes with RBAC: a ServiceAccount has no rights until bound to a role', async () => {
    const namespace = await cluster.createNamespace('rbac');
    const as = `--as=system:serviceaccount:${namespace}:default`;
    const denied = await cluster.kubectl(['auth', 'can-i', 'list', 'secrets', as], { namespace, allowFailure: true });
    assert.equal(denied.stdout.trim(), 'no');
    await cluster.kubectl(['create', 'role', 'secret-reader', '--verb=list', '--resource=secrets'], { namespace });
    await cluster.kubectl(
      ['create', 'rolebinding', 'secret-reader', '--role=secret-reader', `--serviceaccount=${namespace}:default`],
      { namespace },
    );
    const allowed = await cluster.kubectl(['auth', 'can-i', 'list', 'secrets', as], { namespace });
    assert.equal(allowed.stdout.trim(), 'yes');
  });

  it('isolates namespaces: unique names, and objects in one are not visible in another', async () => {
    const first = await cluster.createNamespace('isolation');
    const second = await cluster.createNamespace('isolation');
    assert.notEqual(first, second);
    assert.match(first, /^isolation-[0-9a-f]{6}$/);
    await cluster.kubectl(['create', 'configmap', 'only-here', '--from-literal=k=v'], { namespace: first });
    const mine = await cluster.kubectl(['get', 'configmap', 'only-here', '-o', 'name'], { namespace: first });
    assert.equal(mine.stdout.trim(), 'configmap/only-here');
    await assert.rejects(
      cluster.kubectl(['get', 'configmap', 'only-here'], { namespace: second }),
      (error: unknown) => error instanceof KubectlError && /NotFound|not found/.test(error.stderr),
    );
  });

  it('deletes namespaces it created when asked', async () => {
    const namespace = await cluster.createNamespace('deleted');
    await cluster.deleteNamespace(namespace);
    const { stdout } = await cluster.kubectl(['get', 'namespace', namespace, '-o', 'jsonpath={.status.phase}'], {
      allowFailure: true,
    });
    // Terminating until the namespace controller has emptied it, or already gone.
    assert.ok(stdout === 'Terminating' || stdout === '', `unexpected phase ${stdout}`);
  });
});
