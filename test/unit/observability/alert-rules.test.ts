/**
 * The PrometheusRule content: the design documents' alerts (high TTFT p95, high error rate, GPU memory) for every
 * source, thresholds and `for` from AlertSettings, aggregated by the environment labels. promtool proves they
 * fire and stay silent (test/integration/observability/promtool.test.ts); this checks the rendering.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlertSettings } from '../../../api/observabilitystack.ts';
import {
  alertRuleGroups,
  defaultAlertSettings,
  environmentLabelNames,
  formatDuration,
  type PrometheusRuleEntry,
} from '../../../operator/observability/desired/alert-rules.ts';

function rulesOf(settings: AlertSettings): Map<string, PrometheusRuleEntry> {
  const groups = alertRuleGroups(settings);
  assert.equal(groups.length, 1);
  return new Map((groups[0]?.rules ?? []).map((rule) => [rule.alert ?? '', rule]));
}

function rule(rules: Map<string, PrometheusRuleEntry>, name: string): PrometheusRuleEntry {
  const found = rules.get(name);
  assert.ok(found, `alert ${name}`);
  return found;
}

const alertNames = [
  'HighTTFT',
  'LoadTestHighTTFT',
  'VLLMHighTTFT',
  'HighErrorRate',
  'LoadTestHighErrorRate',
  'GPUMemoryHigh',
];

describe('alertRuleGroups', () => {
  it('defaults: one group with the design documents’ alerts for the RAG backend, runner, vLLM and DCGM', () => {
    const groups = alertRuleGroups(defaultAlertSettings);
    assert.deepEqual(
      groups.map((g) => g.name),
      ['loadlm.alerts'],
    );
    assert.deepEqual(
      groups[0]?.rules.map((r) => r.alert),
      alertNames,
    );
  });

  it('default thresholds are the design documents’: TTFT p95 > 1s, errors > 5%, GPU memory > 90%, for 5m', () => {
    const rules = rulesOf(defaultAlertSettings);
    assert.equal(
      rule(rules, 'HighTTFT').expr,
      'histogram_quantile(0.95, sum by (le, provider, cluster, region, environment, job) ' +
        '(rate(rag_ttft_seconds_bucket[5m]))) > 1',
    );
    assert.equal(
      rule(rules, 'HighErrorRate').expr,
      '100 * sum by (provider, cluster, region, environment, job) (rate(rag_requests_total{status="error"}[5m])) / ' +
        'sum by (provider, cluster, region, environment, job) (rate(rag_requests_total[5m])) > 5',
    );
    assert.equal(
      rule(rules, 'GPUMemoryHigh').expr,
      '100 * sum by (provider, cluster, region, environment, Hostname, gpu) (DCGM_FI_DEV_FB_USED) / ' +
        '(sum by (provider, cluster, region, environment, Hostname, gpu) (DCGM_FI_DEV_FB_USED) + ' +
        'sum by (provider, cluster, region, environment, Hostname, gpu) (DCGM_FI_DEV_FB_FREE)) > 90',
    );
    for (const r of rules.values()) assert.equal(r.for, '5m', r.alert);
    assert.deepEqual(rule(rules, 'HighTTFT').labels, { severity: 'warning' });
    assert.deepEqual(rule(rules, 'HighErrorRate').labels, { severity: 'critical' });
    assert.deepEqual(rule(rules, 'GPUMemoryHigh').labels, { severity: 'warning' });
  });

  it('client and server alerts read the runner’s and vLLM’s metrics', () => {
    const rules = rulesOf(defaultAlertSettings);
    assert.match(rule(rules, 'LoadTestHighTTFT').expr, /rate\(guidellm_ttft_seconds_bucket\[5m\]\)/);
    assert.match(
      rule(rules, 'LoadTestHighTTFT').expr,
      /by \(le, provider, cluster, region, environment, target, model\)/,
    );
    assert.match(rule(rules, 'VLLMHighTTFT').expr, /rate\(vllm:time_to_first_token_seconds_bucket\[5m\]\)/);
    assert.match(rule(rules, 'VLLMHighTTFT').expr, /by \(le, provider, cluster, region, environment, model_name\)/);
    assert.match(rule(rules, 'LoadTestHighErrorRate').expr, /guidellm_requests_total\{status="error"\}/);
  });

  it('every alert aggregates by the environment labels, so it names the cluster', () => {
    for (const r of rulesOf(defaultAlertSettings).values()) {
      const byClauses = [...r.expr.matchAll(/by \(([^)]*)\)/g)].map((m) => m[1]?.split(', ') ?? []);
      assert.ok(byClauses.length > 0, r.alert);
      for (const labels of byClauses) {
        for (const label of environmentLabelNames) assert.ok(labels.includes(label), `${r.alert}: ${label}`);
      }
      assert.match(r.annotations?.summary ?? '', /\{\{ \$labels\.cluster \}\}/, r.alert);
      for (const label of environmentLabelNames) {
        assert.match(r.annotations?.description ?? '', new RegExp(`\\{\\{ \\$labels\\.${label} \\}\\}`), r.alert);
      }
    }
  });

  it('annotations show the value and the threshold', () => {
    const rules = rulesOf(defaultAlertSettings);
    for (const r of rules.values()) {
      assert.match(r.annotations?.summary ?? '', /\{\{ \$value/, r.alert);
      assert.match(r.annotations?.description ?? '', /\{\{ \$value/, r.alert);
    }
    assert.match(rule(rules, 'HighTTFT').annotations?.description ?? '', /threshold of 1s for 5m/);
    assert.match(rule(rules, 'HighErrorRate').annotations?.summary ?? '', /^Error rate above 5%/);
    assert.match(rule(rules, 'GPUMemoryHigh').annotations?.summary ?? '', /^GPU memory utilization above 90%/);
  });

  it('takes thresholds, for and extra labels from the settings', () => {
    const settings = AlertSettings.parse({
      ttftP95Milliseconds: 250,
      errorRatePercent: 1,
      gpuMemoryPercent: 97,
      forSeconds: 90,
      labels: { team: 'ml-platform', severity: 'page' },
    });
    const rules = rulesOf(settings);
    for (const name of ['HighTTFT', 'LoadTestHighTTFT', 'VLLMHighTTFT']) {
      assert.match(rule(rules, name).expr, / > 0\.25$/, name);
      assert.match(rule(rules, name).annotations?.description ?? '', /threshold of 250ms for 90s\.$/);
    }
    for (const name of ['HighErrorRate', 'LoadTestHighErrorRate']) assert.match(rule(rules, name).expr, / > 1$/);
    assert.match(rule(rules, 'GPUMemoryHigh').expr, / > 97$/);
    for (const r of rules.values()) {
      assert.equal(r.for, '90s');
      // The user's labels win, so an Alertmanager route can re-grade an alert.
      assert.deepEqual(r.labels, { severity: 'page', team: 'ml-platform' }, r.alert);
    }
  });

  it('is pure: the same settings give the same groups, and the settings are not changed', () => {
    const settings = AlertSettings.parse({ labels: { team: 'a' } });
    const before = structuredClone(settings);
    assert.deepEqual(alertRuleGroups(settings), alertRuleGroups(settings));
    assert.deepEqual(settings, before);
  });

  it('a zero for fires at once ("0s")', () => {
    for (const r of rulesOf(AlertSettings.parse({ forSeconds: 0 })).values()) assert.equal(r.for, '0s');
  });
});

describe('formatDuration', () => {
  it('uses the largest exact unit', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(45), '45s');
    assert.equal(formatDuration(90), '90s');
    assert.equal(formatDuration(300), '5m');
    assert.equal(formatDuration(3600), '1h');
    assert.equal(formatDuration(5400), '90m');
    assert.equal(formatDuration(86400), '24h');
  });
});
