/**
 * Acceptance: every PromQL expression of every built-in dashboard (panel queries and variable queries) and of
 * every alert rule parses, and a real Prometheus (Debian's package) evaluates it after scraping a real
 * `loadlm run` and `loadlm sim` during a load run. The scrape configs stamp provider/cluster/region/environment
 * on the targets, as the ObservabilityStack's ServiceMonitor relabelings do in a cluster.
 *
 * Expressions over runner (`guidellm_*`) and vLLM (`vllm:*`) metrics must return data — with the dashboard
 * variables at "All" and set to this cluster's labels — and none when the cluster variable names another
 * cluster. There is no GPU or RAG backend here, so DCGM and `rag_*` expressions must parse and evaluate
 * without error. The design documents' example queries are among the dashboard queries (the unit tests check
 * that they are there) and are also evaluated exactly as the documents write them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { builtInDashboards } from '../../../api/observabilitystack.ts';
import { alertRuleGroups, defaultAlertSettings } from '../../../operator/observability/desired/alert-rules.ts';
import { dashboardQueries, loadBuiltInDashboard } from '../../../operator/observability/desired/dashboards.ts';
import { type PromSample, type RunningPrometheus, startPrometheus } from '../../support/prometheus.ts';
import { type LoadlmProcess, startLoadlm } from '../cli/process.ts';

const MODEL = 'mistralai/Mistral-7B-Instruct-v0.3';
/** What the ServiceMonitor relabelings would stamp on every series of this cluster. */
const clusterLabels = {
  provider: 'akamai-lke',
  cluster: 'rag-ray-staging',
  region: 'us-ord',
  environment: 'development',
};
const promtool = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';

/** Grafana's built-in interval variables, as they would be for a 1-hour view with a short scrape interval. */
const grafanaBuiltIns: Record<string, string> = {
  __rate_interval: '1m',
  __interval: '15s',
  __interval_ms: '15000',
  __range: '1h',
  __range_s: '3600',
  __range_ms: '3600000',
};

interface Expression {
  /** Where it comes from, for failure messages. */
  origin: string;
  /** As written, with Grafana variables. */
  expr: string;
  /** Runner and vLLM metrics only: there must be data. DCGM and RAG ones need only evaluate. */
  expectsData: boolean;
}

const absentSources = /DCGM_FI_|rag_/;

function classify(origin: string, expr: string): Expression {
  return { origin, expr, expectsData: /guidellm_|vllm:/.test(expr) && !absentSources.test(expr) };
}

/**
 * Replaces Grafana variables: interval built-ins by durations, other variables (only allowed inside a regex
 * matcher's quotes) by `values[name]`, else `.*` (what "All" sends).
 */
function substitute(expr: string, values: Record<string, string> = {}): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (match, braced: string | undefined, bare: string | undefined, offset) => {
    const name = (braced ?? bare) as string;
    const builtIn = grafanaBuiltIns[name];
    if (builtIn !== undefined) return builtIn;
    assert.ok(expr.slice(0, offset).endsWith('=~"'), `variable ${match} outside a regex matcher in: ${expr}`);
    return values[name] ?? '.*';
  });
}

/** `label_values(selector, label)` (a Grafana variable query) as PromQL listing the label's values. */
function labelValuesQuery(definition: string): { expr: string; label: string } {
  const match = /^label_values\((.+), (\w+)\)$/.exec(definition);
  assert.ok(match, `not a label_values() query: ${definition}`);
  return { expr: `group by (${match[2]}) (${match[1]})`, label: match[2] as string };
}

function hasFiniteValue(result: PromSample[]): boolean {
  return result.some((sample) => Number.isFinite(Number(sample.value[1])));
}

function runPromtool(args: string[]): Promise<{ code: number; output: string }> {
  assert.ok(
    existsSync(promtool),
    `promtool not found at ${promtool} (Debian's prometheus package; or set PROMTOOL_BIN)`,
  );
  return new Promise((resolve) => {
    execFile(promtool, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

// ------------------------------------------------------------------------------------------ expressions

const panelExpressions: Expression[] = builtInDashboards.flatMap((id) =>
  dashboardQueries(loadBuiltInDashboard(id)).map((q) => classify(`${id} / "${q.panelTitle}" ${q.refId}`, q.expr)),
);

const alertRules = alertRuleGroups(defaultAlertSettings).flatMap((group) => group.rules);
const alertExpressions: Expression[] = alertRules.map((rule) => classify(`alert ${rule.alert}`, rule.expr));
/** The alert conditions without the threshold comparison: where a source exists they must have a value. */
const alertValueExpressions: Expression[] = alertRules.map((rule) => {
  const value = rule.expr.replace(/ > [0-9.]+$/, '');
  assert.notEqual(value, rule.expr, `alert ${rule.alert} does not end with a threshold comparison`);
  return classify(`alert ${rule.alert} (value)`, value);
});

/** The design documents' example queries exactly as written (their environment is this cluster's). */
const designDocumentQueries: Expression[] = [
  'rate(guidellm_requests_total{environment="development"}[1m])',
  'histogram_quantile(0.95, rate(guidellm_ttft_seconds_bucket[5m]))',
  'vllm:avg_generation_throughput_toks_per_s{model_name=~".*mistral.*"}',
  'histogram_quantile(0.95, rate(vllm:time_to_first_token_seconds_bucket[5m]))',
  'avg(DCGM_FI_DEV_GPU_UTIL)',
  'sum(DCGM_FI_DEV_POWER_USAGE)',
  // The example alert rules' expressions.
  'histogram_quantile(0.95, rate(rag_ttft_seconds_bucket[5m])) > 1',
  'rate(rag_requests_total{status="error"}[5m]) / rate(rag_requests_total[5m]) > 0.05',
  'DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) > 0.9',
].map((expr) => classify('design documents', expr));

interface VariableQuery {
  origin: string;
  definition: string;
}

const variableQueries: VariableQuery[] = builtInDashboards.flatMap((id) =>
  (loadBuiltInDashboard(id).templating as { list: Array<{ name: string; type: string; definition?: string }> }).list
    .filter((variable) => variable.type === 'query')
    .map((variable) => ({ origin: `${id} variable ${variable.name}`, definition: variable.definition ?? '' })),
);

// -------------------------------------------------------------------------------------------------- test

describe('dashboard and alert PromQL against a real Prometheus scraping loadlm run and loadlm sim', () => {
  let sim: LoadlmProcess;
  let runner: LoadlmProcess;
  let prometheus: RunningPrometheus;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'loadlm-promql-'));
    // Some 503s so that the error panels have series; vLLM's own metrics only count served requests.
    sim = startLoadlm([
      'sim',
      '--port',
      '0',
      '--model',
      MODEL,
      '--ttft-ms',
      '40',
      '--ttft-jitter-ms',
      '10',
      '--itl-ms',
      '4',
      '--faults',
      'status=503@p=0.1',
    ]);
    await sim.waitForStdout(/READY \S+/, 30_000);
    const simUrl = /READY (\S+)/.exec(sim.stdout())?.[1] as string;
    runner = startLoadlm([
      'run',
      '--target-url',
      `${simUrl}/v1`,
      '--model',
      MODEL,
      '--environment',
      clusterLabels.environment,
      '--rate',
      '5',
      '--duration',
      '300',
      '--prompt-tokens',
      '64',
      '--output-tokens',
      '16',
      // Every request is "late" by a few microseconds, so the late-request series exists too.
      '--late-threshold',
      '0.001ms',
      '--calibration',
      'off',
      '--metrics-host',
      '127.0.0.1',
      '--metrics-port',
      '0',
      '--progress',
      'off',
      '--quiet',
    ]);
    const listening = await runner.waitForLog((line) => line.msg === 'metrics server listening', 30_000);
    prometheus = await startPrometheus({
      scrapeInterval: '1s',
      scrapeTargets: [
        { job: 'loadlm-runner', target: new URL(String(listening.url)).host, labels: clusterLabels },
        { job: 'vllm', target: new URL(simUrl).host, labels: clusterLabels },
      ],
    });
  });

  /** A dead runner or simulator would only show up as empty results; say so directly. */
  const assertRunning = () => {
    for (const [name, process] of [
      ['loadlm run', runner],
      ['loadlm sim', sim],
    ] as const) {
      assert.equal(process.child.exitCode, null, `${name} exited early:\n${process.stderr().slice(-4000)}`);
    }
  };

  after(async () => {
    runner?.child.kill('SIGTERM');
    sim?.child.kill('SIGTERM');
    await runner?.exited(30_000).catch(() => {});
    await sim?.exited(30_000).catch(() => {});
    await prometheus?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('there are expressions of every kind to check', () => {
    assert.ok(panelExpressions.filter((e) => e.expectsData).length >= 50, 'runner and vLLM panel queries');
    assert.ok(panelExpressions.some((e) => !e.expectsData && e.expr.includes('DCGM_FI_DEV_GPU_UTIL')));
    assert.ok(panelExpressions.some((e) => !e.expectsData && e.expr.includes('rag_ttft_seconds')));
    assert.equal(alertExpressions.length, 6);
  });

  it('every dashboard and alert expression parses (promtool check rules, one recording rule each)', async () => {
    const all = [...panelExpressions, ...alertExpressions];
    const rules = all.map((e, index) => ({ record: `loadlm_check:expression_${index}`, expr: substitute(e.expr) }));
    const file = join(dir, 'parse-check-rules.yml');
    await writeFile(file, stringify({ groups: [{ name: 'parse-check', rules }] }));
    const result = await runPromtool(['check', 'rules', file]);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, new RegExp(`SUCCESS: ${all.length} rules found`));
  });

  it('the environment variables list this cluster’s labels; the model variables list the model', async () => {
    assertRunning();
    for (const variable of variableQueries) {
      const { expr, label } = labelValuesQuery(variable.definition);
      const query = substitute(expr);
      const expected: Record<string, string> = { ...clusterLabels, model: MODEL, model_name: MODEL };
      if (variable.definition.includes('DCGM_FI_') || variable.definition.includes('rag_')) {
        await prometheus.query(query); // evaluates without error; no GPU or RAG backend here
        continue;
      }
      const result = await prometheus.waitForQuery(query, {
        timeoutMs: 60_000,
        until: (r) => r.some((s) => s.metric[label] === expected[label]),
      });
      assert.ok(
        result.some((s) => s.metric[label] === expected[label]),
        `${variable.origin}: ${label} values ${JSON.stringify(result.map((s) => s.metric[label]))}`,
      );
    }
  });

  it('runner and vLLM expressions return data with every variable at "All"', async () => {
    assertRunning();
    for (const e of [...panelExpressions, ...alertValueExpressions].filter((x) => x.expectsData)) {
      const result = await prometheus.waitForQuery(substitute(e.expr), { timeoutMs: 60_000, until: hasFiniteValue });
      assert.ok(hasFiniteValue(result), `${e.origin}: ${e.expr}`);
    }
  });

  it('… and with the variables set to this cluster’s labels and model', async () => {
    assertRunning();
    const values = { ...clusterLabels, model: MODEL };
    for (const e of [...panelExpressions].filter((x) => x.expectsData)) {
      const result = await prometheus.waitForQuery(substitute(e.expr, values), {
        timeoutMs: 30_000,
        until: hasFiniteValue,
      });
      assert.ok(hasFiniteValue(result), `${e.origin}: ${e.expr}`);
    }
  });

  it('… and none when the cluster variable names another cluster (the filters filter)', async () => {
    assertRunning();
    for (const e of panelExpressions.filter((x) => x.expectsData)) {
      const result = await prometheus.query(substitute(e.expr, { cluster: 'some-other-cluster' }));
      assert.deepEqual(result.result, [], `${e.origin}: ${e.expr}`);
    }
  });

  it("the design documents' example queries, exactly as written, return data (runner, vLLM) or evaluate", async () => {
    assertRunning();
    for (const e of designDocumentQueries) {
      if (!e.expectsData) {
        assert.equal((await prometheus.query(e.expr)).resultType, 'vector', e.expr);
        continue;
      }
      const result = await prometheus.waitForQuery(e.expr, { timeoutMs: 60_000, until: hasFiniteValue });
      assert.ok(hasFiniteValue(result), e.expr);
    }
  });

  it('DCGM and RAG expressions evaluate without error', async () => {
    assertRunning();
    const rest = [...panelExpressions, ...alertExpressions, ...alertValueExpressions].filter((x) => !x.expectsData);
    assert.ok(rest.length > 0);
    for (const e of rest) {
      const result = await prometheus.query(substitute(e.expr));
      assert.equal(result.resultType, 'vector', `${e.origin}: ${e.expr}`);
    }
  });

  it('alert expressions evaluate; the runner TTFT one compares the client p95 with 1 s', async () => {
    assertRunning();
    for (const e of alertExpressions) {
      const result = await prometheus.query(e.expr);
      assert.equal(result.resultType, 'vector', `${e.origin}: ${e.expr}`);
    }
    // The simulator's TTFT is ~40 ms, far below 1 s: the value is there, the alert condition is not.
    const value = alertValueExpressions.find((e) => e.origin.startsWith('alert LoadTestHighTTFT')) as Expression;
    const [sample] = await prometheus.waitForQuery(value.expr, { timeoutMs: 30_000, until: hasFiniteValue });
    assert.equal(sample?.metric.cluster, clusterLabels.cluster);
    assert.ok(Number(sample?.value[1]) < 1, `client TTFT p95 ${sample?.value[1]}s`);
    const condition = alertExpressions.find((e) => e.origin === 'alert LoadTestHighTTFT') as Expression;
    assert.deepEqual((await prometheus.query(condition.expr)).result, []);
  });
});
