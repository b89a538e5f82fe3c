/**
 * Acceptance: the rendered alert rules pass `promtool check rules`, and `promtool test rules` proves on synthetic
 * series that each alert fires above its threshold, stays silent below it (and while still pending), names the
 * cluster in its labels and renders its annotations — with the default thresholds and with custom ones.
 * promtool comes with Debian's prometheus package (.ci/run installs it; PROMTOOL_BIN overrides the path).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { AlertSettings } from '../../../api/observabilitystack.ts';
import {
  alertRuleGroups,
  defaultAlertSettings,
  formatDuration,
  type PrometheusRuleEntry,
} from '../../../operator/observability/desired/alert-rules.ts';

const promtool = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';

interface ToolResult {
  code: number;
  output: string;
}

function runPromtool(args: string[]): Promise<ToolResult> {
  if (!existsSync(promtool)) {
    throw new Error(
      `promtool not found at ${promtool}. Install Debian's prometheus package (apt-get install -y prometheus; .ci/run ` +
        'does this) or point PROMTOOL_BIN at a promtool binary.',
    );
  }
  return new Promise((resolve) => {
    execFile(promtool, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

// ------------------------------------------------------------------------------------- synthetic series

/** Three clusters per source: below the default threshold, between default and custom, above both. */
type Level = 'cold' | 'warm' | 'hot';
const levels: Level[] = ['cold', 'warm', 'hot'];

const environment = { provider: 'aws-eks', region: 'us-east-1', environment: 'production' };
const clusterLabels = (level: Level) => ({ ...environment, cluster: `rag-ray-${level}` });

/** What tells the sources' series apart; `instance` is aggregated away by every alert. */
const sources = {
  rag: { job: 'rag-backend', instance: '10.0.0.1:8000' },
  runner: { job: 'loadlm-runner', instance: '10.0.0.2:9090', target: 'mistral-7b', model: 'mistral-7b-instruct' },
  vllm: { job: 'vllm', instance: '10.0.0.3:8000', model_name: 'mistral-7b-instruct', engine: '0' },
  dcgm: { job: 'dcgm-exporter', instance: '10.0.0.4:9400', Hostname: 'gpu-node-1', gpu: '0', modelName: 'A100' },
};

/** Labels the alert keeps besides the environment labels (its `by` clause). */
const keptBySource: Record<keyof typeof sources, string[]> = {
  rag: ['job'],
  runner: ['target', 'model'],
  vllm: ['model_name'],
  dcgm: ['Hostname', 'gpu'],
};

interface Series {
  series: string;
  values: string;
}

function selector(metric: string, labels: Record<string, string>): string {
  const body = Object.entries(labels)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(', ');
  return `${metric}{${body}}`;
}

const steps = 20; // one sample a minute for 20 minutes
const counter = (perMinute: number) => `0+${perMinute}x${steps}`;
const gauge = (value: number) => `${value}x${steps}`;

/**
 * TTFT histogram with every observation in one bucket, so histogram_quantile's p95 is exact:
 * cold (0, 0.5] → 0.475 s; warm (1, 2] → 1.95 s; hot (2, 4] → 3.9 s.
 */
const ttftBuckets = ['0.5', '1', '2', '4', '+Inf'];
const ttftBucketOf: Record<Level, string> = { cold: '0.5', warm: '2', hot: '4' };
const ttftValue: Record<Level, string> = { cold: '475ms', warm: '1.95s', hot: '3.9s' };

function ttftSeries(metric: string, labels: Record<string, string>, level: Level): Series[] {
  const first = ttftBuckets.indexOf(ttftBucketOf[level]);
  return ttftBuckets.map((le, index) => ({
    series: selector(`${metric}_bucket`, { ...labels, le }),
    values: counter(index >= first ? 10 : 0),
  }));
}

/** Failed share of requests: cold 1 %, warm 6 %, hot 20 %. */
const errorsPer100: Record<Level, number> = { cold: 1, warm: 6, hot: 20 };

function errorSeries(metric: string, labels: Record<string, string>, level: Level): Series[] {
  return [
    { series: selector(metric, { ...labels, status: 'error' }), values: counter(errorsPer100[level]) },
    { series: selector(metric, { ...labels, status: 'success' }), values: counter(100 - errorsPer100[level]) },
  ];
}

/** Framebuffer used of 100 MiB: cold 50 %, warm 95 %, hot 99 %. */
const gpuUsed: Record<Level, number> = { cold: 50, warm: 95, hot: 99 };

function allSeries(): Series[] {
  return levels.flatMap((level) => {
    const at = clusterLabels(level);
    return [
      ...ttftSeries('rag_ttft_seconds', { ...at, ...sources.rag }, level),
      ...ttftSeries('guidellm_ttft_seconds', { ...at, ...sources.runner }, level),
      ...ttftSeries('vllm:time_to_first_token_seconds', { ...at, ...sources.vllm }, level),
      ...errorSeries('rag_requests_total', { ...at, ...sources.rag, endpoint: '/api/chat' }, level),
      ...errorSeries('guidellm_requests_total', { ...at, ...sources.runner }, level),
      { series: selector('DCGM_FI_DEV_FB_USED', { ...at, ...sources.dcgm }), values: gauge(gpuUsed[level]) },
      { series: selector('DCGM_FI_DEV_FB_FREE', { ...at, ...sources.dcgm }), values: gauge(100 - gpuUsed[level]) },
    ];
  });
}

// ------------------------------------------------------------------------------------ expected alerts

interface AlertCase {
  alert: string;
  source: keyof typeof sources;
  /** `$value` as the annotation templates render it. */
  value: (level: Level) => string;
  /** Does a cluster at this level exceed the threshold? */
  above: (settings: AlertSettings, level: Level) => boolean;
}

const ttftSeconds: Record<Level, number> = { cold: 0.475, warm: 1.95, hot: 3.9 };
const alertCases: AlertCase[] = [
  ...(['rag', 'runner', 'vllm'] as const).map((source) => ({
    alert: { rag: 'HighTTFT', runner: 'LoadTestHighTTFT', vllm: 'VLLMHighTTFT' }[source],
    source,
    value: (level: Level) => ttftValue[level],
    above: (s: AlertSettings, level: Level) => ttftSeconds[level] * 1000 > s.ttftP95Milliseconds,
  })),
  ...(['rag', 'runner'] as const).map((source) => ({
    alert: { rag: 'HighErrorRate', runner: 'LoadTestHighErrorRate' }[source],
    source,
    value: (level: Level) => errorsPer100[level].toFixed(1),
    above: (s: AlertSettings, level: Level) => errorsPer100[level] > s.errorRatePercent,
  })),
  {
    alert: 'GPUMemoryHigh',
    source: 'dcgm',
    value: (level: Level) => gpuUsed[level].toFixed(1),
    above: (s: AlertSettings, level: Level) => gpuUsed[level] > s.gpuMemoryPercent,
  },
];

/** Renders the few template forms the rules use; anything else fails the test instead of passing silently. */
function renderTemplate(template: string, labels: Record<string, string>, value: string): string {
  const rendered = template
    .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => labels[name] ?? '<no value>')
    .replace(/\{\{ \$value \| humanizeDuration \}\}/g, value)
    .replace(/\{\{ \$value \| printf "%\.1f" \}\}/g, value);
  assert.ok(!rendered.includes('{{'), `template form not covered by this test: ${template}`);
  return rendered;
}

function expectedAlerts(settings: AlertSettings, rule: PrometheusRuleEntry, testCase: AlertCase) {
  return levels
    .filter((level) => testCase.above(settings, level))
    .map((level) => {
      const kept = Object.fromEntries(
        keptBySource[testCase.source].map((name) => [name, (sources[testCase.source] as Record<string, string>)[name]]),
      ) as Record<string, string>;
      const labels = { ...clusterLabels(level), ...kept };
      return {
        exp_labels: { ...labels, ...rule.labels },
        exp_annotations: Object.fromEntries(
          Object.entries(rule.annotations ?? {}).map(([key, template]) => [
            key,
            renderTemplate(template, labels, testCase.value(level)),
          ]),
        ),
      };
    });
}

/** A promtool unit-test file for the rules rendered from `settings`. */
function unitTests(rulesFile: string, settings: AlertSettings): string {
  const rules = alertRuleGroups(settings).flatMap((g) => g.rules);
  const forMinutes = settings.forSeconds / 60;
  // Rates have two samples from 1m on, so the conditions hold from 1m: pending until 1m + for, firing after.
  const whilePending = formatDuration(60 * Math.max(1, Math.floor(forMinutes / 2)));
  const firing = formatDuration(60 * (2 + forMinutes));
  const alertTests = alertCases.flatMap((testCase) => {
    const rule = rules.find((r) => r.alert === testCase.alert);
    assert.ok(rule, `rendered rules lack ${testCase.alert}`);
    return [
      { eval_time: whilePending, alertname: testCase.alert, exp_alerts: [] },
      { eval_time: firing, alertname: testCase.alert, exp_alerts: expectedAlerts(settings, rule, testCase) },
    ];
  });
  return stringify({
    rule_files: [rulesFile],
    evaluation_interval: '1m',
    tests: [{ interval: '1m', input_series: allSeries(), alert_rule_test: alertTests }],
  });
}

// ------------------------------------------------------------------------------------------------ tests

const customSettings = AlertSettings.parse({
  ttftP95Milliseconds: 2000,
  errorRatePercent: 10,
  gpuMemoryPercent: 97,
  forSeconds: 120,
  labels: { team: 'ml-platform' },
});

describe('promtool on the rendered alert rules', () => {
  let dir: string;
  const rulesFile = (name: string) => join(dir, `${name}-rules.yml`);
  const testFile = (name: string) => join(dir, `${name}-test.yml`);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'loadlm-promtool-'));
    for (const [name, settings] of [
      ['default', defaultAlertSettings],
      ['custom', customSettings],
    ] as const) {
      await writeFile(rulesFile(name), stringify({ groups: alertRuleGroups(settings) }));
      await writeFile(testFile(name), unitTests(rulesFile(name), settings));
    }
    // The custom rules checked against the default expectations: promtool must reject this.
    await writeFile(testFile('mismatch'), unitTests(rulesFile('custom'), defaultAlertSettings));
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('promtool check rules accepts the rules rendered with default and custom settings', async () => {
    for (const name of ['default', 'custom']) {
      const result = await runPromtool(['check', 'rules', rulesFile(name)]);
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, /SUCCESS: 6 rules found/);
    }
  });

  it('default thresholds: every alert fires above its threshold for the right cluster and stays silent below', async () => {
    const result = await runPromtool(['test', 'rules', testFile('default')]);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /SUCCESS/);
  });

  it('custom thresholds, for and labels: the same series now only fire for the cluster above them', async () => {
    const result = await runPromtool(['test', 'rules', testFile('custom')]);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /SUCCESS/);
  });

  it('the check has teeth: custom rules do not meet the default expectations', async () => {
    const result = await runPromtool(['test', 'rules', testFile('mismatch')]);
    assert.notEqual(result.code, 0, result.output);
    assert.match(result.output, /FAILED/);
  });
});
