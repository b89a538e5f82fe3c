import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decimalToMilli,
  formatIssues,
  LoadSettings,
  LoadTest,
  lengthBounds,
  ObservabilityStack,
  parseLoadTest,
  parseLoadTestSpec,
  ValidationError,
} from '../../../api/index.ts';
import { baseLoadTest, invalidCases, loadExamples } from './cases.ts';

function schemaFor(kind: string) {
  if (kind === 'LoadTest') return LoadTest;
  if (kind === 'ObservabilityStack') return ObservabilityStack;
  throw new Error(`unexpected kind ${kind}`);
}

describe('examples', () => {
  const examples = loadExamples();

  it('cover both kinds and the documented scenarios', () => {
    const files = new Set(examples.map((example) => example.file));
    for (const file of [
      'quickstart.yaml',
      'loadtest-development.yaml',
      'loadtest-staging.yaml',
      'loadtest-parallel.yaml',
      'loadtest-sweep.yaml',
      'loadtest-slo-gate.yaml',
      'observabilitystack-development.yaml',
      'observabilitystack-staging.yaml',
      'observabilitystack-central-grafana.yaml',
    ]) {
      assert.ok(files.has(file), `examples/${file} exists`);
    }
  });

  for (const { file, index, manifest } of examples) {
    it(`accepts ${file}#${index} (${manifest.kind})`, () => {
      const result = schemaFor(manifest.kind).safeParse(manifest);
      assert.ok(result.success, result.success ? '' : formatIssues(result.error).join('\n'));
    });
  }

  it("quickstart targets the design documents' Mistral 7B in-cluster", () => {
    const quickstart = parseLoadTest(baseLoadTest());
    assert.equal(quickstart.spec.targets[0]?.url, 'http://mistral-7b-predictor.development.svc.cluster.local:8012');
    assert.equal(quickstart.spec.targets[0]?.model, 'mistralai/Mistral-7B-Instruct-v0.3');
  });
});

describe('invalid manifests are rejected with an error naming the field', () => {
  for (const testCase of invalidCases) {
    it(testCase.name, () => {
      const manifest = testCase.build();
      const result = schemaFor(manifest.kind).safeParse(manifest);
      assert.equal(result.success, false, 'the schema accepted it');
      const lines = result.success ? [] : formatIssues(result.error);
      assert.ok(
        lines.some((line) => line.startsWith(`${testCase.field}: `)),
        `expected an issue on ${testCase.field}, got:\n${lines.join('\n')}`,
      );
      if (testCase.apiserverMessage && !testCase.strictOnly) {
        assert.ok(
          lines.some((line) => testCase.apiserverMessage?.test(line)),
          `the zod message matches the CEL message ${testCase.apiserverMessage}:\n${lines.join('\n')}`,
        );
      }
    });
  }
});

describe('defaults', () => {
  it('fills the documented defaults', () => {
    const spec = parseLoadTest(baseLoadTest()).spec;
    assert.equal(spec.parallelism, 1);
    assert.equal(spec.cleanupPolicy, 'OnSuccess');
    assert.equal(spec.startupDeadlineSeconds, 300);
    assert.equal(spec.targets[0]?.api, 'chat');
    assert.equal(spec.targets[0]?.stream, true);
    assert.equal(spec.load.cooldownSeconds, 0);
    assert.equal(spec.data.sharedPrefixTokens, 0);
    assert.equal(spec.data.calibration, 'probe');
  });

  it('fills nested defaults of ObservabilityStack sections that are left out', () => {
    const stack = ObservabilityStack.parse({
      apiVersion: 'loadlm.dev/v1alpha1',
      kind: 'ObservabilityStack',
      metadata: { name: 'minimal' },
      spec: { environment: { name: 'dev' }, grafana: { mode: 'sidecar' } },
    });
    assert.deepEqual(stack.spec.scrape.runners, { enabled: true, intervalSeconds: 15 });
    assert.deepEqual(stack.spec.grafana?.dashboards.builtIn, [
      'loadtest-overview',
      'vllm',
      'gpu',
      'benchmark-comparison',
      'rag-overview',
    ]);
  });
});

describe('parse helpers', () => {
  it('throw a ValidationError whose lines name each field', () => {
    const spec = baseLoadTest().spec as Record<string, unknown>;
    spec.parallelism = 0;
    assert.throws(
      () => parseLoadTestSpec(spec),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.issues.some((line) => line.startsWith('spec.parallelism: ')) &&
        error.message.includes('spec.parallelism'),
    );
  });

  it('reuse pieces on their own with paths relative to them (runner config)', () => {
    const result = LoadSettings.safeParse({ profile: 'concurrent', rate: 2, concurrency: 3, durationSeconds: 10 });
    assert.equal(result.success, false);
    assert.deepEqual(result.success ? [] : formatIssues(result.error, 'load'), [
      'load.rate: rate is not allowed when profile is concurrent (only constant and poisson take a rate)',
    ]);
  });
});

describe('Decimal values', () => {
  it('accepts integers and decimal strings with up to 3 fractional digits', () => {
    for (const rate of [1, 10, '10', '2.5', '0.25', '0.001', '999999.999']) {
      assert.ok(LoadSettings.safeParse({ profile: 'constant', rate, durationSeconds: 10 }).success, String(rate));
    }
  });

  it('rejects floats, zero, negatives and over-precise strings', () => {
    for (const rate of [2.5, 0, -1, '0', '0.000', '-1', '1.0001', '1e3', '.5', '1,5']) {
      assert.equal(
        LoadSettings.safeParse({ profile: 'constant', rate, durationSeconds: 10 }).success,
        false,
        String(rate),
      );
    }
  });

  it('converts exactly to thousandths', () => {
    assert.equal(decimalToMilli(10), 10_000);
    assert.equal(decimalToMilli('2.5'), 2_500);
    assert.equal(decimalToMilli('0.125'), 125);
    assert.equal(decimalToMilli('0.01'), 10);
    assert.equal(decimalToMilli('7'), 7_000);
  });
});

describe('lengthBounds', () => {
  it('applies the documented clamps', () => {
    assert.deepEqual(lengthBounds({ type: 'fixed', value: 128 }), { min: 128, max: 128 });
    assert.deepEqual(lengthBounds({ type: 'uniform', min: 10, max: 20 }), { min: 10, max: 20 });
    assert.deepEqual(lengthBounds({ type: 'normal', mean: 512, stddev: 100 }), { min: 1, max: 812 });
    assert.deepEqual(lengthBounds({ type: 'normal', mean: 512, stddev: 100, min: 64, max: 600 }), {
      min: 64,
      max: 600,
    });
  });
});

describe('error messages', () => {
  it('say what is expected instead of quoting a regex', () => {
    const result = LoadSettings.safeParse({ profile: 'constant', rate: '0.000', durationSeconds: 10 });
    assert.deepEqual(result.success ? [] : formatIssues(result.error, 'load'), [
      'load.rate: expected a positive number: an integer or a decimal string with at most 3 fractional digits ' +
        '(e.g. 10 or "2.5"; unquoted fractions are not accepted)',
    ]);
  });

  it('call a missing field missing', () => {
    const manifest = baseLoadTest();
    delete (manifest.spec.targets as Record<string, unknown>[])[0]?.model;
    const result = LoadTest.safeParse(manifest);
    assert.deepEqual(result.success ? [] : formatIssues(result.error), [
      'spec.targets[0].model: required field is missing (expected string)',
    ]);
  });
});
