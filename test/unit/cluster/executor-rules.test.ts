/**
 * The pod executor's kubelet and scheduler rules as pure functions (no cluster needed): $(VAR) expansion,
 * quantities, image lookup and argv, scheduling fit, env resolution messages, phase and log tails.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContainerConfigError, resolveEnv } from '../../cluster/executor/env.ts';
import { expandVars } from '../../cluster/executor/expansion.ts';
import { containerArgv, findImage, imageRepository } from '../../cluster/executor/images.ts';
import { parseQuantity } from '../../cluster/executor/quantity.ts';
import { podFitsNode } from '../../cluster/executor/scheduling.ts';
import { type ContainerRecord, logTail, podPhase } from '../../cluster/executor/status.ts';
import type { KeyedData, NodeInfo, Pod } from '../../cluster/executor/types.ts';

describe('$(VAR) expansion', () => {
  const vars: Record<string, string> = { A: 'alpha', EMPTY: '' };
  const expand = (text: string) => expandVars(text, (name) => vars[name]);
  for (const [input, expected] of [
    ['$(A)', 'alpha'],
    ['x-$(A)-y', 'x-alpha-y'],
    ['$$(A)', '$(A)'],
    ['$$$(A)', '$alpha'],
    ['$(MISSING)', '$(MISSING)'],
    ['$(EMPTY)', ''],
    ['$(A', '$(A'],
    ['$A and $', '$A and $'],
    ['$$', '$'],
    ['$()', '$()'],
  ] as const) {
    it(`${input} → ${expected}`, () => assert.equal(expand(input), expected));
  }
});

describe('resource quantities', () => {
  for (const [input, expected] of [
    ['128Mi', 128 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1.5G', 1.5e9],
    ['500m', 0.5],
    ['2', 2],
    ['2e3', 2000],
    ['100k', 100_000],
  ] as const) {
    it(`${input} = ${expected}`, () => assert.equal(parseQuantity(input), expected));
  }
  it('rejects malformed quantities, naming the value and the expected form', () => {
    assert.throws(() => parseQuantity('12 apples'), /invalid resource quantity "12 apples": expected e\.g\. 128Mi/);
  });
});

describe('images', () => {
  it('strips tags and digests, but not registry ports', () => {
    assert.equal(imageRepository('busybox:1.36'), 'busybox');
    assert.equal(imageRepository('ghcr.io/loadlm/loadlm:v1@sha256:abc'), 'ghcr.io/loadlm/loadlm');
    assert.equal(imageRepository('localhost:5000/team/app'), 'localhost:5000/team/app');
    assert.equal(imageRepository('localhost:5000/team/app:2'), 'localhost:5000/team/app');
  });

  it('treats Docker Hub spellings of one image alike, and knows nothing of unmapped images', () => {
    const images = { 'ghcr.io/loadlm/loadlm': { entrypoint: ['loadlm'] } };
    assert.deepEqual(findImage('ghcr.io/loadlm/loadlm:dev', images, []), { entrypoint: ['loadlm'] });
    assert.ok(findImage('docker.io/library/busybox:1.36', images, ['busybox']));
    assert.ok(findImage('busybox', images, ['docker.io/busybox']));
    assert.equal(findImage('quay.io/other/thing:1', images, ['busybox']), undefined);
    assert.equal(findImage(undefined, images, ['busybox']), undefined);
  });

  it('builds argv by Kubernetes rules: command replaces ENTRYPOINT, args replace CMD', () => {
    const spec = { entrypoint: ['/bin/ep'], cmd: ['--default'], binaries: { tool: ['/usr/bin/node', 'tool.js'] } };
    const id = (text: string) => text;
    assert.deepEqual(containerArgv(spec, { name: 'c' }, id), ['/bin/ep', '--default']);
    assert.deepEqual(containerArgv(spec, { name: 'c', args: ['x'] }, id), ['/bin/ep', 'x']);
    assert.deepEqual(containerArgv(spec, { name: 'c', command: ['/bin/other'] }, id), ['/bin/other']);
    assert.deepEqual(containerArgv(spec, { name: 'c', command: ['/bin/other'], args: ['y'] }, id), ['/bin/other', 'y']);
    assert.deepEqual(containerArgv(spec, { name: 'c', command: ['tool'], args: ['run'] }, id), [
      '/usr/bin/node',
      'tool.js',
      'run',
    ]);
  });
});

describe('scheduling fit', () => {
  const node: NodeInfo = {
    name: 'n1',
    labels: { 'kubernetes.io/hostname': 'n1', zone: 'a', gpus: '4' },
    taints: [{ key: 'dedicated', value: 'load', effect: 'NoSchedule' }],
  };
  const tolerate = [{ key: 'dedicated', operator: 'Equal' as const, value: 'load', effect: 'NoSchedule' }];
  const pod = (spec: Partial<Pod['spec']>): Pod => ({
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'c' }], tolerations: tolerate, ...spec },
  });

  it('fits when selector, affinity and tolerations match', () => {
    const fit = podFitsNode(
      pod({
        nodeSelector: { zone: 'a' },
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                {
                  matchExpressions: [
                    { key: 'gpus', operator: 'Gt', values: ['2'] },
                    { key: 'zone', operator: 'In', values: ['a', 'b'] },
                    { key: 'spot', operator: 'DoesNotExist' },
                  ],
                  matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }],
                },
              ],
            },
          },
        },
      }),
      node,
    );
    assert.deepEqual(fit, { fits: true });
  });

  it('reports a selector or affinity mismatch as kube-scheduler does', () => {
    for (const spec of [
      { nodeSelector: { zone: 'b' } },
      {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'NotIn' as const, values: ['a'] }] }],
            },
          },
        },
      },
    ]) {
      const fit = podFitsNode(pod(spec), node);
      assert.equal(fit.fits, false);
      assert.match(fit.fits ? '' : fit.message, /didn't match Pod's node affinity\/selector/);
    }
  });

  it('does not place pods that do not tolerate a NoSchedule taint', () => {
    const fit = podFitsNode(pod({ tolerations: [] }), node);
    assert.deepEqual(fit, {
      fits: false,
      message: '0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: load}.',
    });
    assert.deepEqual(podFitsNode(pod({ tolerations: [{ operator: 'Exists' }] }), node), { fits: true });
  });
});

describe('env resolution', () => {
  const encode = (text: string) => Buffer.from(text).toString('base64');
  const sources = {
    secret: async (name: string): Promise<KeyedData | undefined> =>
      name === 'creds' ? { metadata: { name }, data: { token: encode('t0k'), 'bad=key': encode('x') } } : undefined,
    configMap: async (name: string): Promise<KeyedData | undefined> =>
      name === 'cfg' ? { metadata: { name }, data: { a: '1' } } : undefined,
  };
  const context = {
    podIP: '127.0.0.9',
    hostIP: '127.0.0.1',
    allocatable: { cpu: 2, memory: 2 ** 33, 'ephemeral-storage': 0 },
  };
  const pod = (container: Pod['spec']['containers'][number]): Pod => ({
    metadata: { name: 'p', namespace: 'ns', uid: 'u1', labels: { app: 'x' } },
    spec: { nodeName: 'n1', serviceAccountName: 'sa', containers: [container] },
  });
  const resolve = (container: Pod['spec']['containers'][number]) =>
    resolveEnv(pod(container), container, sources, context);

  it('uses the kubelet messages for missing Secrets, ConfigMaps and keys', async () => {
    const cases: [Pod['spec']['containers'][number], string][] = [
      [
        { name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }] },
        'secret "nope" not found',
      ],
      [
        { name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'creds', key: 'k' } } }] },
        "couldn't find key k in Secret ns/creds",
      ],
      [
        { name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] },
        'configmap "nope" not found',
      ],
      [
        { name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k' } } }] },
        "couldn't find key k in ConfigMap ns/cfg",
      ],
      [{ name: 'c', envFrom: [{ secretRef: { name: 'nope' } }] }, 'secret "nope" not found'],
    ];
    for (const [container, message] of cases) {
      await assert.rejects(
        resolve(container),
        (error: unknown) => error instanceof ContainerConfigError && error.message === message,
      );
    }
  });

  it('skips optional references and keys that cannot be variable names', async () => {
    const env = await resolve({
      name: 'c',
      envFrom: [{ secretRef: { name: 'creds' }, prefix: 'S_' }, { configMapRef: { name: 'nope', optional: true } }],
      env: [
        { name: 'O1', valueFrom: { secretKeyRef: { name: 'nope', key: 'k', optional: true } } },
        { name: 'O2', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'missing', optional: true } } },
      ],
    });
    assert.deepEqual(Object.fromEntries(env), { S_token: 't0k' });
  });

  it('resolves the downward API, CPU rounded up by its divisor and unset limits from the node', async () => {
    const env = await resolve({
      name: 'c',
      resources: { limits: { cpu: '1500m' } },
      env: [
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
        { name: 'MILLI', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
        { name: 'MEM_GI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Gi' } } },
      ],
    });
    assert.deepEqual(Object.fromEntries(env), { APP: 'x', IP: '127.0.0.9', CPU: '2', MILLI: '1500', MEM_GI: '8' });
  });
});

describe('pod phase and log tails', () => {
  const rec = (state: ContainerRecord['state']): ContainerRecord => ({ name: 'c', image: 'i', state, ready: false });
  const done = (exitCode: number) => rec({ terminated: { exitCode } });

  it('follows the kubelet for restartPolicy Never', () => {
    assert.equal(podPhase([], [rec({ waiting: {} })]), 'Pending');
    assert.equal(podPhase([], [rec({ waiting: {} }), rec({ running: {} })]), 'Pending');
    assert.equal(podPhase([], [rec({ running: {} }), done(1)]), 'Running');
    assert.equal(podPhase([], [done(0), done(0)]), 'Succeeded');
    assert.equal(podPhase([], [done(0), done(2)]), 'Failed');
    assert.equal(podPhase([rec({ running: {} })], [rec({ waiting: {} })]), 'Pending');
    assert.equal(podPhase([done(1)], [rec({ waiting: {} })]), 'Failed');
  });

  it('keeps the last 80 lines and at most 2048 bytes', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n');
    const tail = logTail(`${lines}\n`);
    assert.equal(tail.split('\n').length, 80);
    assert.ok(tail.endsWith('line 99'));
    assert.equal(Buffer.byteLength(logTail('x'.repeat(5000))), 2048);
  });
});
