/** Normalising reports, report ConfigMaps and LoadTests into comparison inputs; labels and titles. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { summarize } from '../../../operator/loadtest/status/summary.ts';
import { decodeDocument } from '../../../runner/compare/decode.ts';
import { CompareError } from '../../../runner/compare/errors.ts';
import { type CompareInput, defaultName, uniqueNames } from '../../../runner/compare/input.ts';
import { applyLabelOverrides, parseLabelOverride } from '../../../runner/compare/labels.ts';
import { inputsFromLoadTest, metricsFromStatusSummary } from '../../../runner/compare/loadtest-input.ts';
import { inputsFromDocument } from '../../../runner/compare/report-input.ts';
import { operatorReport, runnerReport, statsFor } from './fixtures.ts';

const from = { source: 'reports/aws.json', sourceShort: 'aws.json' };
const one = { perTarget: false };
const profile = { ttftMs: 80, itlMs: 10, outputTokens: 16, requests: 50, windowSeconds: 5 };

function rejects(fn: () => unknown, code: number, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CompareError, `expected a CompareError, got ${error}`);
    assert.equal(error.exitCode, code);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('report documents → inputs', () => {
  it('reads a runner report: labels, name, figures from the histograms', () => {
    const doc = runnerReport({ labels: { provider: 'aws-eks', cluster: 'prod-1', region: 'us-east-1' } });
    const [input] = inputsFromDocument(doc, from, one);
    assert.ok(input);
    assert.equal(input.kind, 'runner-report');
    assert.equal(input.name, 'aws-eks/prod-1/us-east-1');
    assert.equal(input.outcome, 'success');
    assert.equal(input.metrics.requests.completed, 40);
    assert.ok(Math.abs(input.metrics.latency.ttft.p50 - 0.05) / 0.05 < 0.02, `${input.metrics.latency.ttft.p50}`);
    assert.equal(input.metrics.requestsPerSecond, 10);
    assert.equal(input.metrics.outputTokensPerSecond, 160);
    assert.equal(input.distributions.ttft?.count, 40);
    assert.deepEqual(input.steps, [], 'a single-step run has no sweep points');
  });

  it('reads the operator report, the ConfigMap around it (plain, gzipped, YAML) and gzipped report files', () => {
    const report = operatorReport({ labels: { provider: 'gcp-gke' }, loadTest: 'nightly' });
    const json = JSON.stringify(report);
    const plainCm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'nightly-report' },
      data: { 'report.json': json },
    };
    const gzCm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'nightly-report' },
      binaryData: { 'report.json.gz': gzipSync(json).toString('base64') },
    };
    const docs = [
      report,
      plainCm,
      gzCm,
      decodeDocument(Buffer.from(stringify(plainCm)), 'cm.yaml'),
      decodeDocument(gzipSync(json), 'report.json.gz'),
    ];
    for (const doc of docs) {
      const [input] = inputsFromDocument(doc, from, one);
      assert.equal(input?.kind, 'operator-report');
      assert.equal(input?.labels.loadtest, 'nightly');
      assert.equal(input?.name, 'gcp-gke');
      assert.equal(input?.metrics.requests.completed, 40);
    }
  });

  it('splits targets with perTarget, and merges their steps otherwise', () => {
    const steps = [
      { label: 'synchronous', profile: { ...profile, requests: 10 } },
      { label: 'rate 5/s', targetRate: 5, profile: { ...profile, ttftMs: 120 } },
    ];
    const doc = runnerReport({
      targets: [
        { name: 'a', profile, steps },
        { name: 'b', profile: { ...profile, ttftMs: 200 }, steps },
      ],
    });
    const merged = inputsFromDocument(doc, from, one);
    assert.equal(merged.length, 1);
    assert.equal(merged[0]?.metrics.requests.completed, 100);
    assert.deepEqual(
      merged[0]?.steps.map((s) => [s.label, s.targetRate, s.metrics.requests.completed]),
      [
        ['synchronous', undefined, 20],
        ['rate 5/s', 5, 100],
      ],
    );
    const split = inputsFromDocument(doc, from, { perTarget: true });
    assert.deepEqual(
      split.map((i) => [i.name, i.labels.target, i.metrics.requests.completed]),
      [
        ['aws.json · a', 'a', 50],
        ['aws.json · b', 'b', 50],
      ],
    );
  });

  it('refuses what is not a loadlm report, naming the file and what was expected', () => {
    rejects(
      () => inputsFromDocument({ kind: 'Deployment', apiVersion: 'apps/v1' }, from, one),
      2,
      /^reports\/aws\.json: not a loadlm report: expected a loadlm report \(apiVersion loadlm\.dev\/v1alpha1, kind LoadTestReport.*got kind "Deployment", apiVersion "apps\/v1"/,
    );
    rejects(() => inputsFromDocument([1, 2], from, one), 2, /got a JSON array/);
    rejects(() => inputsFromDocument({ foo: 1 }, from, one), 2, /got an object with keys foo/);
    rejects(() => inputsFromDocument({ kind: 'RunnerResult' }, from, one), 2, /partial result.*--result-file/);
    rejects(
      () => inputsFromDocument({ ...runnerReport({}), schemaVersion: 2 }, from, one),
      2,
      /unsupported report schemaVersion 2 \(this loadlm reads 1\)/,
    );
    rejects(
      () => inputsFromDocument({ kind: 'ConfigMap', metadata: { name: 'x' }, data: { other: '1' } }, from, one),
      2,
      /ConfigMap x holds no loadlm report: expected key report\.json in data or report\.json\.gz in binaryData.*keys other/,
    );
    const corrupt = runnerReport({});
    (corrupt.stats as { requests: { completed: number } }).requests.completed = 7;
    rejects(
      () => inputsFromDocument(corrupt, from, one),
      2,
      /reports\/aws\.json: the report's statistics are invalid: stats\./,
    );
  });

  it('decodes JSON and YAML and refuses anything else with the file named', () => {
    assert.deepEqual(decodeDocument(Buffer.from('{"a":1}'), 'f'), { a: 1 });
    assert.deepEqual(decodeDocument(Buffer.from('a: 1\n'), 'f'), { a: 1 });
    rejects(() => decodeDocument(Buffer.from('{"a":'), 'r.json'), 2, /^r\.json: not valid JSON/);
    rejects(() => decodeDocument(Buffer.from(''), 'r.json'), 2, /^r\.json: is empty/);
    rejects(() => decodeDocument(Buffer.from('a: [1, 2\n'), 'r.yaml'), 2, /^r\.yaml: neither JSON nor YAML/);
  });

  it('warns about failed runs and runs that measured nothing', () => {
    const doc = runnerReport({ status: 'failed', targets: [{ name: 'm', profile: { ...profile, requests: 0 } }] });
    const [input] = inputsFromDocument(doc, from, one);
    assert.deepEqual(input?.warnings, [
      'the run ended failed: its figures may cover part of the planned load',
      'the run: no request was measured',
    ]);
  });
});

describe('LoadTests → inputs', () => {
  const ltFrom = { source: 'context prod-aws: LoadTest bench/nightly', sourceShort: 'prod-aws' };
  const loadTest = (status: Record<string, unknown>) => ({
    apiVersion: 'loadlm.dev/v1alpha1',
    kind: 'LoadTest',
    metadata: { name: 'nightly', namespace: 'bench' },
    spec: { environment: { name: 'production', provider: 'aws-eks', region: 'us-east-1' } },
    status,
  });

  it('refuses an unfinished LoadTest and says its phase (exit 3)', () => {
    rejects(
      () => inputsFromLoadTest(loadTest({ phase: 'Running' }), undefined, ltFrom),
      3,
      /^context prod-aws: LoadTest bench\/nightly: LoadTest bench\/nightly is not finished \(phase Running\)/,
    );
    rejects(
      () => inputsFromLoadTest(loadTest({ conditions: [{ type: 'Accepted', status: 'True' }] }), undefined, ltFrom),
      3,
      /phase Starting/,
    );
  });

  it('takes labels from spec.environment when the report lacks them', () => {
    const report = inputsFromDocument(operatorReport({ loadTest: 'nightly' }), ltFrom, one);
    const [input] = inputsFromLoadTest(loadTest({ phase: 'Succeeded' }), report, ltFrom);
    assert.equal(input?.labels.provider, 'aws-eks');
    assert.equal(input?.labels.region, 'us-east-1');
    assert.equal(input?.labels.environment, 'default', "the report's own labels win");
    assert.equal(input?.name, 'aws-eks/us-east-1');
  });

  it('falls back to status.summary without a report, and says so', () => {
    const stats = statsFor(profile);
    const summary = summarize(stats);
    const [input] = inputsFromLoadTest(
      loadTest({ phase: 'Succeeded', summary }),
      undefined,
      ltFrom,
      'its ConfigMap is gone',
    );
    assert.equal(input?.kind, 'loadtest-status');
    assert.deepEqual(input?.distributions, {});
    assert.match(input?.warnings.join('\n') ?? '', /figures from status\.summary \(its ConfigMap is gone\)/);
    const exact = stats.histograms.ttft.quantiles([0.5, 0.95, 0.99]);
    const m = input?.metrics;
    assert.ok(m);
    for (const [i, p] of (['p50', 'p95', 'p99'] as const).entries()) {
      assert.ok(Math.abs(m.latency.ttft[p] - (exact[i] as number)) <= 1e-6, `${p}: rounded to 1 µs`);
    }
    assert.equal(m.requests.completed, 50);
    assert.equal(m.requestsPerSecond, 10);
    assert.equal(m.outputTokensPerSecond, 160);
    assert.equal(m.errorRatio, 0);
    rejects(
      () => inputsFromLoadTest(loadTest({ phase: 'Failed' }), undefined, ltFrom, 'status.reportRef is not set'),
      3,
      /LoadTest bench\/nightly \(phase Failed\) has no report \(status\.reportRef is not set\) and no status\.summary/,
    );
  });

  it('accepts a saved LoadTest (kubectl get lt -o yaml) through the status fallback', () => {
    const doc = loadTest({ phase: 'Succeeded', summary: summarize(statsFor(profile)) });
    const [input] = inputsFromDocument(doc, from, one);
    assert.equal(input?.kind, 'loadtest-status');
    assert.equal(input?.name, 'aws-eks/us-east-1/production');
    assert.match(input?.warnings.join('\n') ?? '', /a LoadTest object carries no histograms/);
  });

  it('reads goodput from status.summary', () => {
    const stats = statsFor({ ...profile, failed: 10 }, { goodput: { ttftSeconds: 0.08 } });
    const m = metricsFromStatusSummary(summarize(stats) as Record<string, unknown>);
    assert.equal(m.requests.failed, 10);
    assert.equal(m.errorRatio, 10 / 60);
    assert.equal(m.goodput?.good, stats.good);
    assert.equal(m.goodput?.ratio, stats.good / 60);
  });
});

describe('names and --label', () => {
  const input = (name: string, sourceShort: string, labels: CompareInput['labels'] = {}): CompareInput =>
    ({ name, sourceShort, labels, source: sourceShort }) as CompareInput;

  it('derives titles from provider/cluster/region/environment, else the LoadTest, else the source', () => {
    assert.equal(
      defaultName({ provider: 'aws-eks', cluster: 'c', region: 'r', environment: 'prod' }, 'f'),
      'aws-eks/c/r/prod',
    );
    assert.equal(defaultName({ environment: 'default', loadtest: 'nightly' }, 'f'), 'nightly');
    assert.equal(defaultName({ environment: 'default' }, 'f.json'), 'f.json');
    assert.equal(defaultName({ provider: 'p', target: 'llama' }, 'f'), 'p · llama');
  });

  it('makes clashing titles unique with the source, then a number', () => {
    const inputs = [input('p', 'a.json'), input('p', 'b.json'), input('q', 'c.json'), input('q', 'c.json')];
    uniqueNames(inputs);
    assert.deepEqual(
      inputs.map((i) => i.name),
      ['p (a.json)', 'p (b.json)', 'q (c.json)', 'q (c.json) #2'],
    );
  });

  it('tells clashing titles apart by LoadTest name when those differ', () => {
    const inputs = [
      input('aws-eks', 'prod-aws', { loadtest: 'nightly' }),
      input('aws-eks', 'prod-aws', { loadtest: 'weekly' }),
    ];
    uniqueNames(inputs);
    assert.deepEqual(
      inputs.map((i) => i.name),
      ['aws-eks (nightly)', 'aws-eks (weekly)'],
    );
  });

  it('parses --label and applies the i-th to the i-th input', () => {
    assert.deepEqual(parseLabelOverride('AWS'), { name: 'AWS' });
    assert.deepEqual(parseLabelOverride('provider=aws-eks, region=us-east-1'), {
      provider: 'aws-eks',
      region: 'us-east-1',
    });
    rejects(
      () => parseLabelOverride('zone=a'),
      2,
      /--label "zone=a": unknown key "zone" \(expected name, provider, cluster, region, environment/,
    );
    rejects(() => parseLabelOverride('provider='), 2, /provider has no value/);
    const inputs = [input('f.json', 'f.json', { environment: 'default' }), input('g.json', 'g.json', {})];
    applyLabelOverrides(inputs, [{ provider: 'aws-eks' }, { name: 'GCP' }]);
    assert.deepEqual(
      inputs.map((i) => [i.name, i.labels.provider]),
      [
        ['aws-eks', 'aws-eks'],
        ['GCP', undefined],
      ],
    );
    rejects(
      () => applyLabelOverrides(inputs, [{}, {}, { name: 'x' }]),
      2,
      /--label: given 3 times but there are 2 input\(s\)/,
    );
  });
});
