/**
 * The pod executor against the real apiserver and controller-manager: Jobs through the real Job controller,
 * env resolution, kubelet-style failures, limits, ServiceAccount tokens under RBAC, graceful deletion.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import {
  BatchV1Api,
  CoreV1Api,
  type V1Container,
  type V1ContainerStateTerminated,
  type V1Job,
  type V1Pod,
  type V1PodSpec,
} from '@kubernetes/client-node';
import { fromEnv, type ImageMap, type PodExecutor, waitFor } from '../../cluster/index.ts';

const cluster = fromEnv();
const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
const batch = cluster.kubeConfig().makeApiClient(BatchV1Api);
const nodeImage = 'loadlm.test/node:1';
const kubectlImage = 'loadlm.test/kubectl:1';
const images: ImageMap = {
  'loadlm.test/node': { entrypoint: [process.execPath] },
  'loadlm.test/kubectl': { entrypoint: [cluster.kubectlPath] },
};

let namespace = '';
let executor: PodExecutor;

before(async () => {
  namespace = await cluster.createNamespace('executor');
  executor = await cluster.startPodExecutor({ images, hostImages: ['busybox'], namespaces: [namespace] });
});

after(async () => {
  await executor?.stop();
  await cluster.stop();
});

function nodeScript(
  name: string,
  script: string,
  extra: Partial<V1Container> = {},
  spec: Partial<V1PodSpec> = {},
): V1Pod {
  return {
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 5,
      containers: [{ name: 'main', image: nodeImage, args: ['-e', script], ...extra }],
      ...spec,
    },
  };
}

async function createPod(pod: V1Pod): Promise<V1Pod> {
  return core.createNamespacedPod({ namespace, body: pod });
}

async function describePod(name: string): Promise<string> {
  const pod = await core.readNamespacedPod({ name, namespace }).catch((error: Error) => error.message);
  const status = typeof pod === 'string' ? pod : JSON.stringify(pod.status, null, 1);
  return `${status}\nlogs:\n${await executor.logs(namespace, name)}`;
}

function waitPod(name: string, what: string, predicate: (pod: V1Pod) => boolean, timeoutMs = 30_000): Promise<V1Pod> {
  return waitFor(
    `pod ${name}: ${what}`,
    async () => {
      const pod = await core.readNamespacedPod({ name, namespace });
      return predicate(pod) ? pod : undefined;
    },
    { timeoutMs, describe: () => describePod(name) },
  );
}

function waitPhase(name: string, phase: string, timeoutMs?: number): Promise<V1Pod> {
  return waitPod(name, `phase ${phase}`, (pod) => pod.status?.phase === phase, timeoutMs);
}

function terminatedOf(pod: V1Pod): V1ContainerStateTerminated {
  const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
  assert.ok(terminated, `container of ${pod.metadata?.name} is terminated`);
  return terminated;
}

async function waitGone(name: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `pod ${name} to be deleted`,
    async () => {
      try {
        await core.readNamespacedPod({ name, namespace });
        return false;
      } catch (error) {
        return (error as { code?: number }).code === 404;
      }
    },
    { timeoutMs, describe: () => describePod(name) },
  );
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitJobCondition(name: string, type: 'Complete' | 'Failed'): Promise<V1Job> {
  return waitFor(
    `job ${name} condition ${type}`,
    async () => {
      const job = await batch.readNamespacedJob({ name, namespace });
      return job.status?.conditions?.some((c) => c.type === type && c.status === 'True') ? job : undefined;
    },
    {
      timeoutMs: 60_000,
      describe: async () => JSON.stringify((await batch.readNamespacedJob({ name, namespace })).status),
    },
  );
}

describe('pod executor', () => {
  it('runs an Indexed Job to completion through the real Job controller', async () => {
    await batch.createNamespacedJob({
      namespace,
      body: {
        metadata: { name: 'indexed' },
        spec: {
          completions: 2,
          parallelism: 2,
          completionMode: 'Indexed',
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [
                {
                  name: 'main',
                  image: 'busybox:1.36',
                  command: ['sh', '-c', 'echo "index=$JOB_COMPLETION_INDEX ip=$POD_IP"'],
                  env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
                },
              ],
            },
          },
        },
      },
    });
    const job = await waitJobCondition('indexed', 'Complete');
    assert.equal(job.status?.succeeded, 2);
    assert.equal(job.status?.completedIndexes, '0,1');

    const pods = (await core.listNamespacedPod({ namespace, labelSelector: 'job-name=indexed' })).items;
    assert.equal(pods.length, 2);
    const seen = new Set<string>();
    for (const pod of pods) {
      assert.equal(pod.status?.phase, 'Succeeded');
      assert.equal(pod.spec?.nodeName, executor.nodeName);
      const index = pod.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'];
      const ip = pod.status?.podIP ?? '';
      assert.match(ip, /^127\.0\.\d+\.\d+$/);
      assert.equal(terminatedOf(pod).reason, 'Completed');
      const log = await executor.logs(namespace, pod.metadata?.name ?? '');
      assert.equal(log.trim(), `index=${index} ip=${ip}`);
      seen.add(ip);
    }
    assert.equal(seen.size, 2, 'each pod has its own IP');
  });

  it('fails a Job whose pod exits non-zero, with exit code and termination message in the pod status', async () => {
    await batch.createNamespacedJob({
      namespace,
      body: {
        metadata: { name: 'failing' },
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [
                {
                  name: 'main',
                  image: nodeImage,
                  args: [
                    '-e',
                    "require('fs').writeFileSync(process.env.LOADLM_TERMINATION_MESSAGE_PATH, 'boom: bad config'); process.exit(3)",
                  ],
                },
              ],
            },
          },
        },
      },
    });
    const job = await waitJobCondition('failing', 'Failed');
    assert.equal(job.status?.failed, 1);
    const [pod] = (await core.listNamespacedPod({ namespace, labelSelector: 'job-name=failing' })).items;
    assert.ok(pod);
    assert.equal(pod.status?.phase, 'Failed');
    const terminated = terminatedOf(pod);
    assert.equal(terminated.exitCode, 3);
    assert.equal(terminated.reason, 'Error');
    assert.equal(terminated.message, 'boom: bad config');
  });

  it('falls back to the log tail for the termination message with FallbackToLogsOnError', async () => {
    await createPod({
      metadata: { name: 'fallback' },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: ['sh', '-c', 'echo first line; echo "last words" >&2; exit 2'],
            terminationMessagePolicy: 'FallbackToLogsOnError',
          },
        ],
      },
    });
    const terminated = terminatedOf(await waitPhase('fallback', 'Failed'));
    assert.equal(terminated.exitCode, 2);
    assert.equal(terminated.message, 'first line\nlast words');
  });

  it('resolves env as the kubelet does: Secrets, ConfigMaps, envFrom, downward API and $(VAR) expansion', async () => {
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'creds' }, stringData: { password: 's3cret' } },
    });
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'settings' }, data: { mode: 'fast', level: '3' } },
    });
    const script = 'console.log(JSON.stringify({ env: process.env, argv: process.argv.slice(1), cwd: process.cwd() }))';
    const envPod = nodeScript('env', script, {
      args: ['-e', script, '$(A)', '$$(A)'],
      resources: { limits: { memory: '256Mi' } },
      envFrom: [{ configMapRef: { name: 'settings' }, prefix: 'CM_' }],
      env: [
        { name: 'A', value: 'alpha' },
        { name: 'B', value: '$(A)-beta $$(A) $(UNDEFINED)' },
        { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
        { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'mode' } } },
        { name: 'OPTIONAL', valueFrom: { secretKeyRef: { name: 'absent', key: 'x', optional: true } } },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
        { name: 'NOTE', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['loadlm.dev/note']" } } },
        {
          name: 'MEMORY_MI',
          valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } },
        },
      ],
    });
    envPod.metadata = { name: 'env', annotations: { 'loadlm.dev/note': 'hello' } };
    const created = await createPod(envPod);
    assert.ok(created.metadata?.uid);
    const pod = await waitPhase('env', 'Succeeded');
    const output = JSON.parse((await executor.logs(namespace, 'env')).trim()) as {
      env: Record<string, string>;
      argv: string[];
      cwd: string;
    };
    const { env } = output;
    assert.equal(env.A, 'alpha');
    assert.equal(env.B, 'alpha-beta $(A) $(UNDEFINED)');
    assert.equal(env.PASSWORD, 's3cret');
    assert.equal(env.MODE, 'fast');
    assert.equal(env.CM_mode, 'fast');
    assert.equal(env.CM_level, '3');
    assert.equal('OPTIONAL' in env, false);
    assert.equal(env.POD_NAME, 'env');
    assert.equal(env.POD_NAMESPACE, namespace);
    assert.equal(env.POD_UID, created.metadata?.uid);
    assert.equal(env.POD_IP, pod.status?.podIP);
    assert.equal(env.NODE, executor.nodeName);
    assert.equal(env.SA, 'default');
    assert.equal(env.NOTE, 'hello');
    assert.equal(env.MEMORY_MI, '256');
    assert.deepEqual(output.argv, ['alpha', '$(A)']);
    assert.equal(output.cwd, executor.podDir(namespace, 'env'));
    assert.equal(env.HOME, executor.podDir(namespace, 'env'));
    // The pod authenticates with its own token; nothing of the test process's environment leaks in.
    assert.match(env.KUBECONFIG ?? '', /kubeconfig$/);
    for (const name of Object.keys(process.env).filter((n) => n.startsWith('LOADLM_TEST_'))) {
      assert.equal(name in env, false, `${name} must not reach pods`);
    }
  });

  it('reports CreateContainerConfigError for a missing Secret, and starts the container once it exists', async () => {
    await createPod(
      nodeScript('late-secret', 'console.log(process.env.TOKEN)', {
        env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'not-yet', key: 'token' } } }],
      }),
    );
    const waiting = await waitPod(
      'late-secret',
      'waiting with CreateContainerConfigError',
      (pod) => pod.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError',
    );
    assert.equal(waiting.status?.phase, 'Pending');
    assert.equal(waiting.status?.containerStatuses?.[0]?.state?.waiting?.message, 'secret "not-yet" not found');

    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'not-yet' }, stringData: { token: 'now' } },
    });
    await waitPhase('late-secret', 'Succeeded');
    assert.equal((await executor.logs(namespace, 'late-secret')).trim(), 'now');
  });

  it('reports a missing key in a ConfigMap with the kubelet message', async () => {
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'partial' }, data: { a: '1' } } });
    await createPod(
      nodeScript('missing-key', 'process.exit(0)', {
        env: [{ name: 'B', valueFrom: { configMapKeyRef: { name: 'partial', key: 'b' } } }],
      }),
    );
    const pod = await waitPod(
      'missing-key',
      'CreateContainerConfigError',
      (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError',
    );
    assert.equal(
      pod.status?.containerStatuses?.[0]?.state?.waiting?.message,
      `couldn't find key b in ConfigMap ${namespace}/partial`,
    );
  });

  it('reports ErrImagePull for an image it has no mapping for', async () => {
    await createPod({
      metadata: { name: 'unknown-image' },
      spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'registry.example/nothing:1.0' }] },
    });
    const pod = await waitPod('unknown-image', 'image pull failure', (p) =>
      ['ErrImagePull', 'ImagePullBackOff'].includes(p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? ''),
    );
    assert.equal(pod.status?.phase, 'Pending');
    assert.match(pod.status?.containerStatuses?.[0]?.state?.waiting?.message ?? '', /registry\.example\/nothing:1\.0/);
  });

  it('kills a container that exceeds its memory limit with OOMKilled, exit code 137', async () => {
    const hog = 'const keep = []; setInterval(() => keep.push(Buffer.alloc(32 * 1024 * 1024, 1)), 20)';
    await createPod(nodeScript('oom', hog, { resources: { limits: { memory: '128Mi' } } }));
    const pod = await waitPhase('oom', 'Failed');
    const terminated = terminatedOf(pod);
    assert.equal(terminated.reason, 'OOMKilled');
    assert.equal(terminated.exitCode, 137);
  });

  it('fails a pod that outlives activeDeadlineSeconds with reason DeadlineExceeded', async () => {
    await createPod(nodeScript('deadline', 'setInterval(() => {}, 1000)', {}, { activeDeadlineSeconds: 1 }));
    const pod = await waitPhase('deadline', 'Failed');
    assert.equal(pod.status?.reason, 'DeadlineExceeded');
    assert.notEqual(terminatedOf(pod).exitCode, 0);
  });

  it('gives pods a ServiceAccount token that RBAC applies to, and never the admin credentials', async () => {
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'reader' } } });
    const kubectlPod = (name: string, args: string[]): V1Pod => ({
      metadata: { name },
      spec: {
        restartPolicy: 'Never',
        serviceAccountName: 'reader',
        containers: [{ name: 'main', image: kubectlImage, args, terminationMessagePolicy: 'FallbackToLogsOnError' }],
      },
    });

    await createPod(kubectlPod('whoami', ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']));
    await waitPhase('whoami', 'Succeeded');
    assert.equal((await executor.logs(namespace, 'whoami')).trim(), `system:serviceaccount:${namespace}:reader`);

    await createPod(kubectlPod('forbidden', ['get', 'secrets', '-o', 'name']));
    const denied = terminatedOf(await waitPhase('forbidden', 'Failed'));
    assert.equal(denied.exitCode, 1);
    assert.match(denied.message ?? '', /forbidden/i);
    assert.match(denied.message ?? '', new RegExp(`system:serviceaccount:${namespace}:reader`));
    assert.match(denied.message ?? '', /cannot list resource "secrets"/);

    await cluster.kubectl(['create', 'role', 'secret-lister', '--verb=list', '--resource=secrets'], { namespace });
    await cluster.kubectl(
      ['create', 'rolebinding', 'reader-lists-secrets', '--role=secret-lister', `--serviceaccount=${namespace}:reader`],
      { namespace },
    );
    await createPod(kubectlPod('allowed', ['get', 'secrets', '-o', 'name']));
    await waitPhase('allowed', 'Succeeded');
    assert.match(await executor.logs(namespace, 'allowed'), /secret\/creds/);
  });

  it('terminates the process of a deleted pod: SIGTERM first, then deletes the pod', async () => {
    const script = [
      "process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0); });",
      "console.log('pid=' + process.pid);",
      'setInterval(() => {}, 1000);',
    ].join(' ');
    await createPod(nodeScript('graceful', script));
    await waitPhase('graceful', 'Running');
    const logged = await waitFor('the pod to log its pid', async () =>
      /pid=(\d+)/.exec(await executor.logs(namespace, 'graceful')),
    );
    const pid = Number(logged[1]);
    assert.ok(processAlive(pid));
    await core.deleteNamespacedPod({ name: 'graceful', namespace, gracePeriodSeconds: 10 });
    await waitGone('graceful');
    assert.equal(processAlive(pid), false);
    assert.match(await executor.logs(namespace, 'graceful'), /got SIGTERM/);
  });

  it('kills a pod that ignores SIGTERM once its grace period is over', async () => {
    const script = "process.on('SIGTERM', () => {}); console.log('pid=' + process.pid); setInterval(() => {}, 1000);";
    await createPod(nodeScript('stubborn', script));
    await waitPhase('stubborn', 'Running');
    const logged = await waitFor('the pod to log its pid', async () =>
      /pid=(\d+)/.exec(await executor.logs(namespace, 'stubborn')),
    );
    await core.deleteNamespacedPod({ name: 'stubborn', namespace, gracePeriodSeconds: 1 });
    await waitGone('stubborn');
    assert.equal(processAlive(Number(logged[1])), false);
  });

  it('gives each pod its own IP, so pods can listen on the same port, and drives Ready by the readiness probe', async () => {
    const server =
      "require('http').createServer((req, res) => res.end(process.env.POD_NAME)).listen(8080, process.env.POD_IP)";
    const serverPod = (name: string) =>
      nodeScript(name, server, {
        env: [
          { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        ],
        ports: [{ name: 'http', containerPort: 8080 }],
        readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
      });
    await createPod(serverPod('web-a'));
    await createPod(serverPod('web-b'));
    const isReady = (pod: V1Pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    const a = await waitPod('web-a', 'Ready', (pod) => Boolean(isReady(pod)));
    const b = await waitPod('web-b', 'Ready', (pod) => Boolean(isReady(pod)));
    assert.notEqual(a.status?.podIP, b.status?.podIP);
    assert.equal(await httpGet(`http://${a.status?.podIP}:8080/`), 'web-a');
    assert.equal(await httpGet(`http://${b.status?.podIP}:8080/`), 'web-b');
    await core.deleteNamespacedPod({ name: 'web-a', namespace, gracePeriodSeconds: 5 });
    await core.deleteNamespacedPod({ name: 'web-b', namespace, gracePeriodSeconds: 5 });
    await waitGone('web-a');
    await waitGone('web-b');
  });

  it('serves container logs to `kubectl logs` through the apiserver, following a running container', async () => {
    const script =
      "let n = 0; const t = setInterval(() => { console.log('line ' + ++n); if (n === 3) clearInterval(t); }, 300)";
    await createPod(nodeScript('chatty', script));
    await waitPhase('chatty', 'Running');
    const followed = await cluster.kubectl(['logs', '--follow', 'chatty'], { namespace });
    assert.equal(followed.stdout, 'line 1\nline 2\nline 3\n');
    await waitPhase('chatty', 'Succeeded');
    const tail = await cluster.kubectl(['logs', '--tail=1', 'pod/chatty'], { namespace });
    assert.equal(tail.stdout, 'line 3\n');
  });

  it('leaves pods that do not fit its node Unschedulable', async () => {
    await createPod(nodeScript('picky', 'process.exit(0)', {}, { nodeSelector: { disktype: 'ssd' } }));
    const pod = await waitPod('picky', 'Unschedulable', (p) =>
      Boolean(p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable')),
    );
    assert.equal(pod.spec?.nodeName, undefined);
    const condition = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    assert.equal(condition?.status, 'False');
    assert.match(condition?.message ?? '', /didn't match Pod's node affinity\/selector/);
  });
});

describe('pod executor restart', () => {
  it('fails a pod that a previous executor instance was running, as a lost node would', async () => {
    const lostNamespace = await cluster.createNamespace('executor-lost');
    const nodeName = `loadlm-${lostNamespace}`;
    await core.createNamespacedPod({
      namespace: lostNamespace,
      body: {
        metadata: { name: 'orphan' },
        spec: { nodeName, restartPolicy: 'Never', containers: [{ name: 'main', image: nodeImage }] },
      },
    });
    const startedAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    // What an earlier instance would have reported before it went away.
    await cluster.kubectl(
      [
        'patch',
        'pod',
        'orphan',
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({
          status: {
            phase: 'Running',
            containerStatuses: [
              {
                name: 'main',
                image: nodeImage,
                imageID: '',
                ready: true,
                restartCount: 0,
                state: { running: { startedAt } },
              },
            ],
          },
        }),
      ],
      { namespace: lostNamespace },
    );
    const second = await cluster.startPodExecutor({ images, nodeName, namespaces: [lostNamespace] });
    try {
      const pod = await waitFor('the orphan pod to fail', async () => {
        const current = await core.readNamespacedPod({ name: 'orphan', namespace: lostNamespace });
        return current.status?.phase === 'Failed' ? current : undefined;
      });
      assert.equal(pod.status?.reason, 'ExecutorLost');
      assert.match(pod.status?.message ?? '', /restarted/);
      assert.equal(terminatedOf(pod).reason, 'ContainerStatusUnknown');
    } finally {
      await second.stop();
    }
  });
});

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}
