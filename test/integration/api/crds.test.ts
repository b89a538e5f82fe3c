/**
 * The generated CRDs against the real apiserver, through the built kubectl: installation, every example,
 * the invalid-manifest table, immutability, printer columns and `kubectl explain`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { LoadTest, ObservabilityStack } from '../../../api/index.ts';
import { fromEnv, waitFor } from '../../cluster/index.ts';
import { crdFiles, crdNameOf, installCrds } from '../../support/crds.ts';
import {
  baseLoadTest,
  fullLoadTestStatus,
  fullObservabilityStackStatus,
  invalidCases,
  loadExamples,
  type Manifest,
} from '../../unit/api/cases.ts';

const cluster = fromEnv();

interface Outcome {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Runs kubectl and reports failure as a value, so rejections can be asserted on. */
async function attempt(args: string[], input?: string): Promise<Outcome> {
  const result = await cluster.kubectl(args, { allowFailure: true, ...(input === undefined ? {} : { input }) });
  return { ok: result.code === 0, stdout: result.stdout, stderr: result.stderr };
}

async function kubectl(args: string[], input?: string): Promise<string> {
  const outcome = await attempt(args, input);
  assert.ok(outcome.ok, `kubectl ${args.join(' ')} failed:\n${outcome.stderr}`);
  return outcome.stdout;
}

function yamlOf(manifest: Manifest): string {
  return stringify(manifest);
}

// biome-ignore lint/suspicious/noExplicitAny: stored objects are read field by field in assertions
function getJson(namespace: string, resource: string): Promise<Record<string, any>> {
  return kubectl(['get', '-n', namespace, resource, '-o', 'json']).then((out) => JSON.parse(out));
}

let namespace = '';

before(async () => {
  await installCrds(cluster);
  namespace = await cluster.createNamespace('api');
});

after(() => cluster.stop());

describe('CRD installation', () => {
  it('both CRDs are Established, and installing again is a no-op', async () => {
    await installCrds(cluster);
    for (const file of crdFiles()) {
      const crd = JSON.parse(await kubectl(['get', 'customresourcedefinition', crdNameOf(file), '-o', 'json']));
      const established = crd.status.conditions.find((condition: { type: string }) => condition.type === 'Established');
      assert.equal(established?.status, 'True', `${crdNameOf(file)} is Established`);
      const accepted = crd.status.conditions.find((condition: { type: string }) => condition.type === 'NamesAccepted');
      assert.equal(accepted?.status, 'True', `${crdNameOf(file)} names are accepted`);
    }
  });
});

describe('examples', () => {
  for (const { file, index, manifest } of loadExamples()) {
    it(`creates ${file}#${index}, and the apiserver's defaults match the zod schema's`, async () => {
      const created = JSON.parse(
        await kubectl(['create', '--validate=strict', '-n', namespace, '-o', 'json', '-f', '-'], yamlOf(manifest)),
      );
      assert.equal(created.kind, manifest.kind);
      const schema = manifest.kind === 'LoadTest' ? LoadTest : ObservabilityStack;
      const expected = schema.parse(manifest).spec;
      assert.deepEqual(created.spec, JSON.parse(JSON.stringify(expected)));
    });
  }
});

describe('invalid manifests are rejected with a message naming the field', () => {
  invalidCases.forEach((testCase, index) => {
    it(testCase.name, async () => {
      const manifest = testCase.build();
      // Unique names keep a wrongly accepted manifest from masking the next case.
      if (testCase.field !== 'metadata.name') manifest.metadata = { generateName: `invalid-${index}-` };
      const outcome = await attempt(['create', '--validate=strict', '-n', namespace, '-f', '-'], yamlOf(manifest));
      assert.equal(outcome.ok, false, `the apiserver accepted it:\n${outcome.stdout}`);
      if (process.env.LOADLM_DEBUG_API) console.log(`${testCase.name}:\n${outcome.stderr}`);
      assert.ok(outcome.stderr.includes(testCase.field), `the error names ${testCase.field}:\n${outcome.stderr}`);
      if (testCase.apiserverMessage) assert.match(outcome.stderr, testCase.apiserverMessage);
    });
  });

  it('without strict validation an unknown field is pruned, not stored', async () => {
    const manifest = baseLoadTest();
    manifest.metadata = { name: 'pruned-unknown-field' };
    (manifest.spec.load as Record<string, unknown>).rat = 3;
    await kubectl(['create', '--validate=false', '-n', namespace, '-f', '-'], yamlOf(manifest));
    const stored = await getJson(namespace, 'loadtest/pruned-unknown-field');
    assert.equal(stored.spec.load.rat, undefined);
    assert.equal(stored.spec.load.rate, 2);
  });
});

describe('immutability', () => {
  before(async () => {
    const manifest = baseLoadTest();
    manifest.metadata = { name: 'immutable' };
    await kubectl(['create', '-n', namespace, '-f', '-'], yamlOf(manifest));
  });

  it('rejects a spec change after creation', async () => {
    const outcome = await attempt([
      'patch',
      '-n',
      namespace,
      'loadtest/immutable',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { parallelism: 2 } }),
    ]);
    assert.equal(outcome.ok, false, 'the spec change was accepted');
    assert.match(outcome.stderr, /spec: Invalid value: "object": spec is immutable/);
  });

  it('still accepts label changes and status updates through the status subresource', async () => {
    await kubectl(['label', '-n', namespace, 'loadtest/immutable', 'team=inference']);
    await kubectl([
      'patch',
      '-n',
      namespace,
      'loadtest/immutable',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { phase: 'Running', observedGeneration: 1 } }),
    ]);
    const stored = await getJson(namespace, 'loadtest/immutable');
    assert.equal(stored.metadata.labels.team, 'inference');
    assert.equal(stored.status.phase, 'Running');
    assert.equal(stored.metadata.generation, 1);
  });

  it('stores a complete status as written (nothing pruned, nothing rejected)', async () => {
    const status = fullLoadTestStatus();
    await kubectl([
      'patch',
      '-n',
      namespace,
      'loadtest/immutable',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status }),
    ]);
    const stored = await getJson(namespace, 'loadtest/immutable');
    assert.deepEqual(stored.status, status);
  });

  it('ObservabilityStack specs stay mutable', async () => {
    const stack = loadExamples().find((example) => example.file === 'observabilitystack-staging.yaml');
    assert.ok(stack);
    const manifest = structuredClone(stack.manifest);
    manifest.metadata = { name: 'mutable-stack' };
    await kubectl(['create', '-n', namespace, '-f', '-'], yamlOf(manifest));
    await kubectl([
      'patch',
      '-n',
      namespace,
      'observabilitystack/mutable-stack',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { alerts: { errorRatePercent: 3 } } }),
    ]);
    const stored = await getJson(namespace, 'observabilitystack/mutable-stack');
    assert.equal(stored.spec.alerts.errorRatePercent, 3);
    assert.equal(stored.metadata.generation, 2);
    const status = fullObservabilityStackStatus();
    await kubectl([
      'patch',
      '-n',
      namespace,
      'observabilitystack/mutable-stack',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status }),
    ]);
    assert.deepEqual((await getJson(namespace, 'observabilitystack/mutable-stack')).status, status);
  });
});

describe('kubectl get and explain', () => {
  const name = 'columns';

  before(async () => {
    const manifest = baseLoadTest();
    manifest.metadata = { name };
    await kubectl(['create', '-n', namespace, '-f', '-'], yamlOf(manifest));
    const stack = loadExamples().find((example) => example.file === 'observabilitystack-development.yaml');
    assert.ok(stack);
    await kubectl(['create', '-n', namespace, '-f', '-'], yamlOf({ ...stack.manifest, metadata: { name: 'columns' } }));
    const ready = {
      type: 'Ready',
      status: 'True',
      reason: 'Provisioned',
      message: '',
      lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    await kubectl([
      'patch',
      '-n',
      namespace,
      'observabilitystack/columns',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { conditions: [ready] } }),
    ]);
    const status = {
      phase: 'Succeeded',
      progress: { requestsCompleted: 120, percent: '100%' },
      summary: {
        ttft: { samples: 120, p95: '123.4ms', microseconds: { p95: 123_400 } },
        tpot: { samples: 120, p95: '21.7ms', microseconds: { p95: 21_700 } },
        throughput: { requestsPerSecond: '2', outputTokensPerSecond: '255.9' },
        errors: { total: 3 },
      },
    };
    await kubectl([
      'patch',
      '-n',
      namespace,
      `loadtest/${name}`,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status }),
    ]);
  });

  function table(output: string): string[][] {
    return output
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/));
  }

  it('`kubectl get loadtests` shows the designed columns and values', async () => {
    const rows = table(await kubectl(['get', 'loadtests', '-n', namespace, name]));
    assert.deepEqual(rows[0], [
      'NAME',
      'PHASE',
      'PROFILE',
      'RUNNERS',
      'PROGRESS',
      'TTFT-P95',
      'TPOT-P95',
      'REQ/S',
      'TOK/S',
      'ERRORS',
      'AGE',
    ]);
    assert.deepEqual(rows[1]?.slice(0, 10), [
      name,
      'Succeeded',
      'constant',
      '1',
      '100%',
      '123.4ms',
      '21.7ms',
      '2',
      '255.9',
      '3',
    ]);
  });

  it('`kubectl get lt -o wide` adds Target and Model', async () => {
    const rows = table(await kubectl(['get', 'lt', '-o', 'wide', '-n', namespace, name]));
    assert.deepEqual(rows[0]?.slice(-2), ['TARGET', 'MODEL']);
    assert.deepEqual(rows[1]?.slice(-2), ['mistral-7b', 'mistralai/Mistral-7B-Instruct-v0.3']);
  });

  it('`kubectl get obs` shows the ObservabilityStack columns', async () => {
    const rows = table(await kubectl(['get', 'obs', '-n', namespace, 'columns']));
    assert.deepEqual(rows[0], ['NAME', 'READY', 'ENVIRONMENT', 'CLUSTER', 'GRAFANA', 'AGE']);
    assert.deepEqual(rows[1]?.slice(0, 5), ['columns', 'True', 'development', 'rag-ray-dev', 'sidecar']);
    const wide = table(await kubectl(['get', 'obs', '-o', 'wide', '-n', namespace, 'columns']));
    assert.deepEqual(wide[0]?.at(-1), 'REASON');
    assert.deepEqual(wide[1]?.at(-1), 'Provisioned');
  });

  it('the loadlm category lists both kinds', async () => {
    const output = await kubectl(['get', 'loadlm', '-n', namespace, '-o', 'name']);
    assert.match(output, /^loadtest\.loadlm\.dev\/columns$/m);
    assert.match(output, /^observabilitystack\.loadlm\.dev\/columns$/m);
  });

  /** The apiserver publishes a new CRD's OpenAPI a moment after it is Established. */
  function explain(field: string): Promise<string> {
    return waitFor(`kubectl explain ${field}`, async () => {
      const outcome = await attempt(['explain', field]);
      return outcome.ok ? outcome.stdout : undefined;
    });
  }

  it('`kubectl explain loadtest.spec.load` prints the field descriptions', async () => {
    const output = await explain('loadtest.spec.load');
    assert.match(output, /The load profile and when the run stops/);
    assert.match(output, /profile\s+<string> -required-/);
    assert.match(output, /How requests are issued/);
    assert.match(output, /rate\s+<Object>|rate\s+<IntOrString>|rate\s+<[^>]+>/);
    assert.match(output, /Requests per second for all runners together/);
    assert.match(output, /durationSeconds\s+<integer>/);
    assert.match(output, /warmupSeconds\s+<integer>\s+Initial seconds[\s\S]*?Default 0\./);
  });

  it('`kubectl explain obs.spec.grafana.mode` prints the description and the enum', async () => {
    const output = await explain('obs.spec.grafana.mode');
    assert.match(output, /How Grafana is provisioned/);
    assert.match(output, /sidecar/);
  });
});
