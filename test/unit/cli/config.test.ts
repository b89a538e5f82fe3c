// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the ${VAR} config syntax is what these tests exercise
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandString, expandTree } from '../../../runner/config/expand.ts';
import { ConfigError, type ConfigOverrides, resolveRunPlan } from '../../../runner/config/resolve.ts';

/** The design document's per-environment config, verbatim. */
const designConfig = `
environments:
  development:
    targets:
      - name: mistral-7b
        # Use cluster-internal URL
        url: http://mistral-7b-predictor.development.svc.cluster.local:8012/v1/chat/completions
        model: mistralai/Mistral-7B-Instruct-v0.3
        api_key: \${API_KEY}
`;

const twoEnvironments = `
environments:
  development:
    provider: akamai-lke
    cluster: rag-ray-dev
    region: us-ord
    targets:
      - name: mistral-7b
        url: http://dev.example:8012/v1/chat/completions
        model: mistralai/Mistral-7B-Instruct-v0.3
        api_key: \${API_KEY}
  staging:
    targets:
      - name: mistral-7b
        url: \${STAGING_URL}
        model: mistralai/Mistral-7B-Instruct-v0.3
        api_key: \${STAGING_KEY}
load:
  profile: constant
  rate: 2.5
  durationSeconds: 120
  warmupSeconds: 10
data:
  promptTokens: "uniform:100-200"
  outputTokens: { type: normal, mean: 128, stddev: 16 }
slo:
  ttftP95Milliseconds: 500
  goodput: { ttftMilliseconds: 1000 }
  minGoodputPercent: 95
`;

function resolve(configText: string | undefined, overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = {}) {
  return resolveRunPlan({ ...(configText !== undefined ? { configText } : {}), overrides, env });
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

describe('${VAR} expansion', () => {
  it('expands set variables and defaults', () => {
    const env = { A: 'x', EMPTY: '' };
    assert.equal(expandString('${A}-${B:-dflt}-${EMPTY:-e}', env, 'f'), 'x-dflt-e');
    assert.equal(expandString('cost $${A}', env, 'f'), 'cost ${A}');
    assert.equal(expandString('no refs', env, 'f'), 'no refs');
  });

  it('names the variable and the field when a variable is unset', () => {
    assert.throws(() => expandTree({ a: { b: ['${NOPE}'] } }, {}), {
      message: /^a\.b\[0\]: environment variable NOPE is not set/,
    });
  });

  it('rejects malformed references', () => {
    assert.throws(() => expandString('${1BAD}', {}, 'x.y'), { message: /^x\.y: invalid variable reference/ });
  });

  it('never puts a variable value into an error', () => {
    const message = configError(() =>
      resolve(
        designConfig.replace('${API_KEY}', '${API_KEY}').replace('http://', '${SCHEME}'),
        {},
        {
          API_KEY: 'sk-sentinel-123',
          SCHEME: 'ftp://',
        },
      ),
    );
    assert.doesNotMatch(message, /sk-sentinel-123/);
  });
});

describe('resolveRunPlan', () => {
  it('accepts the design document config unchanged and infers the API from the URL', () => {
    const plan = resolve(designConfig, {}, { API_KEY: 'sk-test' });
    assert.equal(plan.labels.environment, 'development');
    assert.equal(plan.targets.length, 1);
    const [t] = plan.targets;
    assert.equal(t?.name, 'mistral-7b');
    assert.equal(t?.spec.api, 'chat');
    assert.equal(t?.spec.apiKey, 'sk-test');
    assert.equal(t?.spec.model, 'mistralai/Mistral-7B-Instruct-v0.3');
    assert.equal(plan.load.profile, 'synchronous');
    assert.equal(plan.load.durationSeconds, 60);
    assert.deepEqual(plan.data.promptTokens, { kind: 'fixed', value: 256 });
    assert.deepEqual(plan.data.outputTokens, { kind: 'fixed', value: 128 });
  });

  it('keeps API keys out of the effective config', () => {
    const plan = resolve(designConfig, {}, { API_KEY: 'sk-sentinel-42' });
    assert.doesNotMatch(JSON.stringify(plan.effectiveConfig), /sk-sentinel-42/);
    assert.match(JSON.stringify(plan.effectiveConfig), /\(redacted\)/);
  });

  it('names the unset variable and its field', () => {
    assert.equal(
      configError(() => resolve(designConfig)),
      'environments.development.targets[0].api_key: environment variable API_KEY is not set (or give a default: ${API_KEY:-value})',
    );
  });

  it('requires --environment when there are several, listing them', () => {
    assert.match(
      configError(() => resolve(twoEnvironments)),
      /choose one with --environment \(available: development, staging\)/,
    );
    assert.equal(
      configError(() => resolve(twoEnvironments, { environment: 'prod' })),
      '--environment prod: no such environment in the config (available: development, staging)',
    );
  });

  it('expands only the selected environment', () => {
    const plan = resolve(twoEnvironments, { environment: 'development' }, { API_KEY: 'k' });
    assert.deepEqual(plan.labels, {
      environment: 'development',
      provider: 'akamai-lke',
      cluster: 'rag-ray-dev',
      region: 'us-ord',
    });
    assert.equal(plan.load.profile, 'constant');
    assert.equal(plan.load.rate, 2.5);
    assert.equal(plan.load.warmupSeconds, 10);
    assert.deepEqual(plan.data.promptTokens, { kind: 'uniform', min: 100, max: 200 });
    assert.deepEqual(plan.data.outputTokens, { kind: 'normal', mean: 128, stddev: 16, min: 1, max: 176 });
    assert.equal(plan.slo.ttftP95Ms, 500);
    assert.deepEqual(plan.slo.goodput, { ttftMs: 1000 });
    assert.equal(plan.slo.minGoodputPercent, 95);
  });

  it('lets flags override config values', () => {
    const plan = resolve(
      twoEnvironments,
      {
        environment: 'development',
        load: { rate: 7, durationSeconds: 30 },
        data: { outputTokens: '64' },
        labels: { region: 'eu-west', loadtest: 'nightly' },
        target: { model: 'other-model', maxConnections: 8 },
      },
      { API_KEY: 'k' },
    );
    assert.equal(plan.load.rate, 7);
    assert.equal(plan.load.durationSeconds, 30);
    assert.deepEqual(plan.data.outputTokens, { kind: 'fixed', value: 64 });
    assert.equal(plan.labels.region, 'eu-west');
    assert.equal(plan.labels.loadtest, 'nightly');
    assert.equal(plan.targets[0]?.spec.model, 'other-model');
    assert.equal(plan.targets[0]?.spec.maxConnections, 8);
  });

  it('a flag profile drops config fields that profile does not take', () => {
    const plan = resolve(
      twoEnvironments,
      { environment: 'development', load: { profile: 'concurrent', concurrency: 4 } },
      { API_KEY: 'k' },
    );
    assert.equal(plan.load.profile, 'concurrent');
    assert.equal(plan.load.rate, undefined);
    assert.equal(plan.load.concurrency, 4);
    assert.equal(plan.targets[0]?.spec.maxConnections, 4);
  });

  it('reports invalid fields by path', () => {
    const bad = designConfig.replace('http://mistral-7b-predictor', 'not a url');
    assert.match(
      configError(() => resolve(bad, {}, { API_KEY: 'k' })),
      /^environments\.development\.targets\[0\]\.url: expected an http\(s\) URL/,
    );
    const unknownField = `${designConfig}load:\n  profile: constant\n  rate: 1\n  durationSeconds: 10\n  ratee: 3\n`;
    assert.match(
      configError(() => resolve(unknownField, {}, { API_KEY: 'k' })),
      /^load\.ratee: unknown field/,
    );
    const missingModel = designConfig.replace(/ {8}model: .*\n/, '');
    assert.match(
      configError(() => resolve(missingModel, {}, { API_KEY: 'k' })),
      /^environments\.development\.targets\[0\]\.model: /,
    );
  });

  it('names the flag that set a bad value', () => {
    const message = configError(() =>
      resolve(
        designConfig,
        { load: { profile: 'concurrent', rate: 3 }, sources: { 'load.rate': '--rate' } },
        { API_KEY: 'k' },
      ),
    );
    assert.match(message, /load\.rate \(from --rate\): rate is not allowed when profile is concurrent/);
  });

  it('builds a target from flags alone', () => {
    const plan = resolve(undefined, {
      target: { url: 'http://127.0.0.1:8000/v1/completions', model: 'org/My_Model-7B' },
      load: { rate: 3 },
    });
    assert.equal(plan.labels.environment, 'default');
    assert.equal(plan.targets[0]?.name, 'my-model-7b');
    assert.equal(plan.targets[0]?.spec.api, 'completions');
    assert.equal(plan.load.profile, 'constant');
    assert.equal(plan.targets[0]?.spec.maxConnections, 1024);
  });

  it('requires a target URL and a model without a config', () => {
    assert.match(
      configError(() => resolve(undefined, {})),
      /^--target-url is required/,
    );
    assert.match(
      configError(() => resolve(undefined, { target: { url: 'http://h:1' } })),
      /^--model is required/,
    );
  });

  it('rejects an API kind that contradicts the URL', () => {
    assert.match(
      configError(() => resolve(designConfig, { target: { api: 'completions' } }, { API_KEY: 'k' })),
      /targets\[0\]\.api: "completions" contradicts the URL path/,
    );
  });

  it('reads the API key from --api-key-env and --api-key-file', () => {
    const overrides = { target: { url: 'http://h:1/v1', model: 'm' } };
    assert.equal(
      resolve(undefined, { ...overrides, apiKeyEnv: 'MY_KEY' }, { MY_KEY: 'abc' }).targets[0]?.spec.apiKey,
      'abc',
    );
    assert.match(
      configError(() => resolve(undefined, { ...overrides, apiKeyEnv: 'MY_KEY' }, {})),
      /^--api-key-env MY_KEY: environment variable MY_KEY is not set/,
    );
    const plan = resolveRunPlan({
      overrides: { ...overrides, apiKeyFile: '/secret/key' },
      env: {},
      readFile: () => 'from-file\n',
    });
    assert.equal(plan.targets[0]?.spec.apiKey, 'from-file');
  });

  it('selects one target with --target', () => {
    const config = `${designConfig}      - name: other\n        url: http://other:8000/v1\n        model: m2\n`;
    const plan = resolve(config, { targetName: 'other' }, { API_KEY: 'k' });
    assert.deepEqual(
      plan.targets.map((t) => t.name),
      ['other'],
    );
    assert.match(
      configError(() => resolve(config, { targetName: 'nope' }, { API_KEY: 'k' })),
      /available: mistral-7b, other/,
    );
  });

  it('reports YAML syntax errors with a position', () => {
    assert.match(
      configError(() => resolve('environments:\n  dev: [unclosed\n')),
      /^config:\d+:\d+: invalid YAML/,
    );
  });

  it('maps stages given as DURATION:VALUE by profile', () => {
    const base = { target: { url: 'http://h:1/v1', model: 'm' } };
    const open = resolve(undefined, {
      ...base,
      load: {
        profile: 'constant',
        stages: [
          { durationSeconds: 10, value: 2.5, ramp: true },
          { durationSeconds: 5, value: 4, ramp: false },
        ],
      },
    });
    assert.deepEqual(open.load.stages, [
      { durationSeconds: 10, rate: 2.5, ramp: true },
      { durationSeconds: 5, rate: 4, ramp: false },
    ]);
    assert.equal(open.load.durationSeconds, undefined);
    const closed = resolve(undefined, {
      ...base,
      load: { profile: 'concurrent', stages: [{ durationSeconds: 10, value: 3, ramp: false }] },
    });
    assert.deepEqual(closed.load.stages, [{ durationSeconds: 10, concurrency: 3, ramp: false }]);
  });
});

describe('resolveRunPlan runs the engine checks before anything is sent', () => {
  const target = { url: 'http://h:1/v1', model: 'm' };

  it('names the flag of an engine-only setting the engine refuses', () => {
    const message = configError(() =>
      resolve(undefined, {
        target,
        load: { rate: 5 },
        engine: { lateThresholdMs: 0 },
        sources: { 'load.rate': '--rate' },
      }),
    );
    assert.match(message, /^load\.lateThresholdMs \(from --late-threshold\): expected a number > 0, got 0$/);
  });

  it('names the config field, or the flag that set it, for cross-field checks only the engine makes', () => {
    const fromConfig = `${designConfig}load: {profile: constant, rate: 1, maxRequests: 10, cooldownSeconds: 5}\n`;
    assert.match(
      configError(() => resolve(fromConfig, {}, { API_KEY: 'k' })),
      /^load\.cooldownSeconds: needs durationSeconds or stages/,
    );
    const fromFlags = configError(() =>
      resolve(undefined, {
        target: { ...target, maxConnections: 10 },
        load: { profile: 'concurrent', concurrency: 50 },
        sources: { 'load.concurrency': '--concurrency' },
      }),
    );
    assert.match(fromFlags, /^load\.concurrency \(from --concurrency\): 50 exceeds target\.maxConnections \(10\)/);
  });

  it('refuses a closed-loop split that leaves a runner without streams', () => {
    const message = configError(() =>
      resolve(undefined, {
        target,
        load: { profile: 'concurrent', concurrency: 2 },
        engine: { share: { index: 2, count: 3 } },
      }),
    );
    assert.match(message, /^load\.concurrency: 2 concurrent streams split 3 ways leave runner 2 none/);
  });

  it('accepts a 1-way shard of a sweep (the operator always passes --shard I/N)', () => {
    const plan = resolve(undefined, {
      target,
      load: { profile: 'sweep', sweep: { rates: 2, stepSeconds: 30 } },
      engine: { share: { index: 0, count: 1 } },
    });
    assert.equal(plan.load.profile, 'sweep');
    assert.deepEqual(plan.load.share, { index: 0, count: 1 });
    assert.match(
      configError(() =>
        resolve(undefined, {
          target,
          load: { profile: 'sweep', sweep: { rates: 2, stepSeconds: 30 } },
          engine: { share: { index: 0, count: 2 } },
        }),
      ),
      /^load\.share \(from --shard\): a sweep cannot be split across runners/,
    );
  });

  it('reads the dataset while resolving, naming the file and line', () => {
    const message = configError(() =>
      resolve(undefined, { target, data: { dataset: '/nonexistent/loadlm-prompts.jsonl' } }),
    );
    assert.match(message, /^data\.dataset: cannot read \/nonexistent\/loadlm-prompts\.jsonl/);
  });

  it('quotes a wrong value instead of calling it missing, except secrets', () => {
    const wrongType = `${designConfig}load: {profile: concurrent, concurrency: "5", durationSeconds: 10}\n`;
    assert.match(
      configError(() => resolve(wrongType, {}, { API_KEY: 'k' })),
      /^load\.concurrency: expected a number, got "5"$/,
    );
    const numericKey = designConfig.replace('${API_KEY}', '918273645');
    const message = configError(() => resolve(numericKey, {}, {}));
    assert.match(message, /api_key: expected a string$/);
    assert.ok(!message.includes('918273645'));
  });
});
