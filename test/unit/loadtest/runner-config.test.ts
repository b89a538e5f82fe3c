// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the runner's ${VAR} syntax is what these tests check
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { parseLoadTest } from '../../../api/index.ts';
import {
  apiKeyEnvName,
  effectiveSeed,
  RenderError,
  renderRunnerConfig,
} from '../../../operator/loadtest/desired/index.ts';
import { resolveRunPlan } from '../../../runner/config/resolve.ts';
import { RunnerConfig } from '../../../runner/config/schema.ts';
import { runnerAssignment } from '../../../runner/handoff/assignment.ts';
import { loadTest, uid } from './fixtures.ts';

/** What `loadlm run --config-env LOADLM_CONFIG --shard I/N` builds from the rendered config. */
function planOf(yaml: string, shard = { index: 0, count: 1 }, env: NodeJS.ProcessEnv = {}) {
  return resolveRunPlan({ configText: yaml, overrides: { engine: { share: shard } }, env });
}

describe('renderRunnerConfig', () => {
  it('round-trips load, data, labels, goodput and the shard into the runner plan', () => {
    const lt = loadTest({
      load: {
        profile: 'poisson',
        rate: '2.5',
        durationSeconds: 300,
        warmupSeconds: 30,
        cooldownSeconds: 10,
        maxErrors: 50,
        seed: 42,
      },
      data: {
        promptTokens: { type: 'normal', mean: 512, stddev: 128, min: 64, max: 2048 },
        outputTokens: { type: 'uniform', min: 64, max: 256 },
        sharedPrefixTokens: 100,
        calibration: 'off',
      },
      slo: {
        ttftP95Milliseconds: 500,
        goodput: { ttftMilliseconds: 1000, tpotMilliseconds: 60 },
        minGoodputPercent: 95,
      },
      parallelism: 3,
    });
    const { yaml, configMap } = renderRunnerConfig(lt);
    // The runner's own schema accepts it as written.
    assert.equal(RunnerConfig.safeParse(parse(yaml)).success, true);
    const plan = planOf(yaml, { index: 2, count: 3 });
    assert.deepEqual(plan.labels, {
      environment: 'development',
      provider: 'akamai-lke',
      cluster: 'rag-ray-dev',
      region: 'us-ord',
      loadtest: 'nightly',
    });
    assert.deepEqual(plan.load, {
      profile: 'poisson',
      rate: 2.5,
      durationSeconds: 300,
      warmupSeconds: 30,
      cooldownSeconds: 10,
      maxErrors: 50,
      lateThresholdMs: 10,
      share: { index: 2, count: 3 },
    });
    assert.deepEqual(plan.data, {
      promptTokens: { kind: 'normal', mean: 512, stddev: 128, min: 64, max: 2048 },
      outputTokens: { kind: 'uniform', min: 64, max: 256 },
      sharedPrefixTokens: 100,
      seed: 42,
      calibration: 'off',
    });
    // Goodput limits change what is counted, so they travel; thresholds are judged by the operator.
    assert.deepEqual(plan.slo, { goodput: { ttftMs: 1000, tpotMs: 60 } });
    const [target] = plan.targets;
    assert.equal(target?.name, 'mistral-7b');
    assert.equal(target?.spec.url, 'http://mistral-7b-predictor.development.svc.cluster.local:8012/v1');
    assert.equal(target?.spec.model, 'mistralai/Mistral-7B-Instruct-v0.3');
    assert.equal(target?.spec.api, 'chat');
    assert.equal(target?.spec.stream, true);
    assert.equal(target?.spec.apiKey, undefined);
    assert.equal(configMap.metadata.name, 'nightly-runner-config');
    assert.equal(configMap.data?.['config.yaml'], yaml);
    assert.deepEqual(configMap.metadata.ownerReferences, [
      {
        apiVersion: 'loadlm.dev/v1alpha1',
        kind: 'LoadTest',
        name: 'nightly',
        uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });

  it('references API keys by variable only, resolves serviceRef and keeps timeouts', () => {
    const lt = loadTest({
      targets: [
        {
          name: 'mistral-7b',
          serviceRef: { name: 'mistral-7b-predictor', namespace: 'staging', port: 8012, path: '/v1' },
          model: 'mistralai/Mistral-7B-Instruct-v0.3',
          apiKeySecretRef: { name: 'mistral-api-key', key: 'api-key' },
          timeouts: { connectSeconds: 5, headersSeconds: 120, idleSeconds: 30 },
          maxConnections: 64,
        },
      ],
    });
    const { yaml } = renderRunnerConfig(lt);
    assert.match(yaml, /api_key: \$\{LOADLM_API_KEY_0\}/);
    const plan = planOf(yaml, undefined, { [apiKeyEnvName(0)]: 'sk-secret-value' });
    const spec = plan.targets[0]?.spec;
    assert.equal(spec?.url, 'http://mistral-7b-predictor.staging.svc:8012/v1');
    assert.equal(spec?.apiKey, 'sk-secret-value');
    assert.equal(spec?.maxConnections, 64);
    assert.deepEqual(spec?.timeouts, { connectMs: 5000, headersMs: 120_000, bodyIdleMs: 30_000 });
    assert.equal(JSON.stringify(plan.effectiveConfig).includes('sk-secret-value'), false);
  });

  it('resolves a named serviceRef port only from the Service, and names the field otherwise', () => {
    const lt = loadTest({
      targets: [{ name: 'vllm', serviceRef: { name: 'vllm', port: 'http' }, model: 'm' }],
    });
    assert.throws(
      () => renderRunnerConfig(lt),
      (error: unknown) =>
        error instanceof RenderError &&
        error.field === 'spec.targets[0].serviceRef.port' &&
        /port name "http".*Service bench\/vllm/.test(error.message),
    );
    const { yaml } = renderRunnerConfig(lt, { servicePorts: { 'bench/vllm/http': 8000 } });
    assert.equal(planOf(yaml).targets[0]?.spec.url, 'http://vllm.bench.svc:8000/v1');
  });

  it('lets a URL that names the endpoint decide the API (the CRD defaults api to chat)', () => {
    const lt = loadTest({
      targets: [{ name: 'vllm', url: 'http://vllm:8000/v1/completions', model: 'm' }],
    });
    const plan = planOf(renderRunnerConfig(lt).yaml);
    assert.equal(plan.targets[0]?.spec.api, 'completions');
  });

  it('lists every target; runner I takes target ⌊I/P⌋ and shard I mod P', () => {
    const lt = loadTest({
      targets: [
        { name: 'a', url: 'http://a:8000/v1', model: 'm' },
        { name: 'b', url: 'http://b:8000/v1', model: 'm', api: 'completions', stream: false },
      ],
      parallelism: 2,
    });
    const { yaml } = renderRunnerConfig(lt);
    const plan = resolveRunPlan({
      configText: yaml,
      overrides: { targetName: runnerAssignment(3, 2, ['a', 'b']).target, engine: { share: { index: 1, count: 2 } } },
      env: {},
    });
    assert.deepEqual(
      plan.targets.map((t) => [t.name, t.spec.api, t.spec.stream]),
      [['b', 'completions', false]],
    );
    assert.deepEqual(plan.load.share, { index: 1, count: 2 });
  });

  it('keeps stages, sweeps and request limits, and maps a ConfigMap dataset to its mount path', () => {
    const staged = planOf(
      renderRunnerConfig(
        loadTest({
          load: {
            profile: 'constant',
            stages: [
              { durationSeconds: 60, rate: 30, ramp: true },
              { durationSeconds: 300, rate: '120.5' },
            ],
            warmupSeconds: 120,
          },
        }),
      ).yaml,
    );
    assert.deepEqual(staged.load.stages, [
      { durationSeconds: 60, ramp: true, rate: 30 },
      { durationSeconds: 300, ramp: false, rate: 120.5 },
    ]);
    const sweep = planOf(
      renderRunnerConfig(
        loadTest({
          load: { profile: 'sweep', concurrency: 64, sweep: { rates: 8, stepSeconds: 120, profile: 'poisson' } },
        }),
      ).yaml,
    );
    assert.deepEqual(sweep.load.sweep, { rates: 8, stepSeconds: 120, profile: 'poisson' });
    const limited = planOf(
      renderRunnerConfig(loadTest({ load: { profile: 'throughput', concurrency: 8, maxRequests: 500 } })).yaml,
    );
    assert.equal(limited.load.maxRequests, 500);
    assert.equal(limited.load.durationSeconds, undefined);
    const withDataset = renderRunnerConfig(
      loadTest({
        data: {
          dataset: { configMapRef: { name: 'prompts', key: 'sharegpt.jsonl' } },
          outputTokens: { type: 'fixed', value: 64 },
        },
      }),
    );
    assert.equal((withDataset.config.data as { dataset?: string }).dataset, '/etc/loadlm/dataset/sharegpt.jsonl');
  });

  it('always sets a seed: the spec, else status.seed, else one derived from the uid', () => {
    const seedOf = (yaml: string) => planOf(yaml).data.seed;
    const derived = loadTest({ load: { profile: 'constant', rate: 1, durationSeconds: 10 } });
    assert.equal(seedOf(renderRunnerConfig(derived).yaml), effectiveSeed(derived));
    assert.equal(
      effectiveSeed(derived),
      effectiveSeed(loadTest({ load: { profile: 'constant', rate: 1, durationSeconds: 10 } })),
    );
    const recorded = loadTest({ load: { profile: 'constant', rate: 1, durationSeconds: 10 } }, { status: { seed: 7 } });
    assert.equal(seedOf(renderRunnerConfig(recorded).yaml), 7);
    const given = loadTest(
      { load: { profile: 'constant', rate: 1, durationSeconds: 10, seed: 99 } },
      { status: { seed: 7 } },
    );
    assert.equal(seedOf(renderRunnerConfig(given).yaml), 99);
  });

  it('renders every LoadTest example into a config the runner accepts', () => {
    const dir = join(import.meta.dirname, '..', '..', '..', 'examples');
    const files = readdirSync(dir).filter((f) => f.startsWith('loadtest-') || f === 'quickstart.yaml');
    assert.ok(files.length >= 5);
    for (const file of files) {
      for (const doc of readFileSync(join(dir, file), 'utf8').split(/^---$/m)) {
        const raw = parse(doc) as { kind?: string; metadata?: Record<string, unknown> } | null;
        if (raw?.kind !== 'LoadTest') continue;
        const lt = parseLoadTest({
          ...raw,
          metadata: { name: 'example', ...raw.metadata, namespace: 'bench', uid, generateName: undefined },
        });
        const env = Object.fromEntries(lt.spec.targets.map((_, i) => [apiKeyEnvName(i), 'key']));
        const { yaml } = renderRunnerConfig(lt);
        for (const [i] of lt.spec.targets.entries()) {
          const plan = resolveRunPlan({
            configText: yaml,
            overrides: {
              targetName: lt.spec.targets[i]?.name ?? '',
              engine: { share: { index: 0, count: lt.spec.parallelism } },
            },
            env,
          });
          assert.equal(plan.targets.length, 1, file);
          assert.equal(plan.load.profile, lt.spec.load.profile, file);
        }
      }
    }
  });
});
