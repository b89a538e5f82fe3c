// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Grafana's ${datasource} variable is literal text
/**
 * The built-in Grafana dashboards (dashboards/*.json): they parse, carry the variables that let one dashboard
 * switch cluster and filter by the environment labels, every query goes through the datasource variable and
 * filters every series on provider/cluster/region/environment, and the design documents' queries are there.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { builtInDashboards } from '../../../api/observabilitystack.ts';
import {
  type BuiltInDashboard,
  dashboardQueries,
  dashboardsDirectory,
  type GrafanaDashboard,
  loadBuiltInDashboard,
} from '../../../operator/observability/desired/dashboards.ts';

const environmentLabels = ['provider', 'cluster', 'region', 'environment'] as const;
const datasourceRef = { type: 'prometheus', uid: '${datasource}' };

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: unknown;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Array<{ refId: string; expr: string; datasource?: unknown }>;
  panels?: Panel[];
}

interface Variable {
  name: string;
  type: string;
  query: unknown;
  datasource?: unknown;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
  definition?: string;
}

function panelsOf(dashboard: GrafanaDashboard): Panel[] {
  const all: Panel[] = [];
  const visit = (panels: Panel[] | undefined) => {
    for (const panel of panels ?? []) {
      all.push(panel);
      visit(panel.panels);
    }
  };
  visit(dashboard.panels as Panel[]);
  return all;
}

function variablesOf(dashboard: GrafanaDashboard): Variable[] {
  return (dashboard.templating as { list: Variable[] }).list;
}

const aggregations = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);
const labelListKeywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const operatorKeywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2']);

/** A vector selector found in an expression: metric name (may be empty) and its matchers as written. */
interface Selector {
  metric: string;
  matchers: string[];
}

function closing(expr: string, start: number, open: string, close: string): number {
  let depth = 0;
  for (let i = start; i < expr.length; i++) {
    const c = expr[i];
    if (c === '"') {
      i = endOfString(expr, i);
      continue;
    }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return i;
  }
  throw new Error(`unbalanced ${open} in ${expr}`);
}

function endOfString(expr: string, start: number): number {
  for (let i = start + 1; i < expr.length; i++) {
    if (expr[i] === '\\') i++;
    else if (expr[i] === '"') return i;
  }
  throw new Error(`unterminated string in ${expr}`);
}

function splitMatchers(body: string): string[] {
  const matchers: string[] = [];
  let current = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c === '"') {
      const end = endOfString(body, i);
      current += body.slice(i, end + 1);
      i = end;
    } else if (c === ',') {
      matchers.push(current.trim());
      current = '';
    } else current += c;
  }
  if (current.trim() !== '') matchers.push(current.trim());
  return matchers;
}

/** The vector selectors of a PromQL expression (a small scanner; enough for the dashboards' expressions). */
function vectorSelectors(expr: string): Selector[] {
  const selectors: Selector[] = [];
  let i = 0;
  const nextNonSpace = (from: number) => {
    let j = from;
    while (j < expr.length && /\s/.test(expr[j] as string)) j++;
    return j;
  };
  while (i < expr.length) {
    const c = expr[i] as string;
    if (c === '"') {
      i = endOfString(expr, i) + 1;
    } else if (c === '[') {
      i = closing(expr, i, '[', ']') + 1;
    } else if (c === '{') {
      const end = closing(expr, i, '{', '}');
      selectors.push({ metric: '', matchers: splitMatchers(expr.slice(i + 1, end)) });
      i = end + 1;
    } else if (/[0-9.]/.test(c)) {
      while (i < expr.length && /[0-9.eE]/.test(expr[i] as string)) i++;
    } else if (/[a-zA-Z_:]/.test(c)) {
      let j = i;
      while (j < expr.length && /[a-zA-Z0-9_:]/.test(expr[j] as string)) j++;
      const word = expr.slice(i, j);
      const next = nextNonSpace(j);
      if (labelListKeywords.has(word)) {
        i = expr[next] === '(' ? closing(expr, next, '(', ')') + 1 : next;
      } else if (operatorKeywords.has(word) || aggregations.has(word) || expr[next] === '(') {
        i = j;
      } else if (expr[next] === '{') {
        const end = closing(expr, next, '{', '}');
        selectors.push({ metric: word, matchers: splitMatchers(expr.slice(next + 1, end)) });
        i = end + 1;
      } else {
        selectors.push({ metric: word, matchers: [] });
        i = j;
      }
    } else {
      i++;
    }
  }
  return selectors;
}

/** Drops the `label=~"$variable"` matchers (and then-empty braces): what is left is the query's shape. */
function withoutVariableMatchers(expr: string): string {
  let out = '';
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i] as string;
    if (c === '"') {
      const end = endOfString(expr, i);
      out += expr.slice(i, end + 1);
      i = end;
    } else if (c === '{') {
      const end = closing(expr, i, '{', '}');
      const kept = splitMatchers(expr.slice(i + 1, end)).filter((m) => !/^[a-zA-Z_]\w*=~"\$\w+"$/.test(m));
      if (kept.length > 0) out += `{${kept.join(', ')}}`;
      i = end;
    } else out += c;
  }
  return out.replace(/\s+/g, ' ');
}

describe('PromQL selector scanner (test helper)', () => {
  it('finds every selector and skips functions, aggregations, label lists, ranges and strings', () => {
    const selectors = vectorSelectors(
      'histogram_quantile(0.95, sum by (le, job) (rate(a_bucket{x="1", y=~"$y"}[5m]))) - ' +
        'sum without (instance) (b) / on (job) group_left (z) c{w="}"} or vector(1)',
    );
    assert.deepEqual(selectors, [
      { metric: 'a_bucket', matchers: ['x="1"', 'y=~"$y"'] },
      { metric: 'b', matchers: [] },
      { metric: 'c', matchers: ['w="}"'] },
    ]);
  });

  it('reduces an adapted query to the design documents’ shape', () => {
    assert.equal(
      withoutVariableMatchers('rate(m{environment=~"$environment", provider=~"$provider", status="error"}[1m])'),
      'rate(m{status="error"}[1m])',
    );
    assert.equal(
      withoutVariableMatchers('avg(DCGM_FI_DEV_GPU_UTIL{cluster=~"$cluster"})'),
      'avg(DCGM_FI_DEV_GPU_UTIL)',
    );
  });
});

describe('built-in dashboards', () => {
  it('there is one JSON file per built-in id, and loadBuiltInDashboard reads it', () => {
    for (const id of builtInDashboards) {
      const fromDisk = JSON.parse(readFileSync(join(dashboardsDirectory, `${id}.json`), 'utf8')) as unknown;
      assert.deepEqual(loadBuiltInDashboard(id), fromDisk, id);
    }
  });

  it('rejects an unknown id, naming the valid ones', () => {
    assert.throws(() => loadBuiltInDashboard('nope' as BuiltInDashboard), /unknown built-in dashboard "nope".*vllm/);
  });

  it('returns a copy each call, so callers may change it', () => {
    const first = loadBuiltInDashboard('vllm');
    first.title = 'changed';
    assert.notEqual(loadBuiltInDashboard('vllm').title, 'changed');
  });

  for (const id of builtInDashboards) {
    describe(id, () => {
      const dashboard = loadBuiltInDashboard(id);
      const panels = panelsOf(dashboard);
      const queries = dashboardQueries(dashboard);

      it('has uid loadlm-<id>, a title, schemaVersion 39, no numeric id and the loadlm tag', () => {
        assert.equal(dashboard.uid, `loadlm-${id}`);
        assert.match(dashboard.title, /^LoadLM \/ .+/);
        assert.equal(dashboard.schemaVersion, 39);
        assert.equal(dashboard.id, null, 'a provisioned dashboard must not carry a database id');
        assert.ok((dashboard.tags as string[]).includes('loadlm'));
      });

      it('has a Prometheus datasource variable and multi-value environment label variables', () => {
        const variables = variablesOf(dashboard);
        const datasource = variables.find((v) => v.name === 'datasource');
        assert.ok(datasource, 'datasource variable');
        assert.equal(datasource.type, 'datasource');
        assert.equal(datasource.query, 'prometheus');
        for (const label of environmentLabels) {
          const variable = variables.find((v) => v.name === label);
          assert.ok(variable, `${label} variable`);
          assert.equal(variable.type, 'query');
          assert.deepEqual(variable.datasource, datasourceRef);
          assert.equal(variable.multi, true);
          assert.equal(variable.includeAll, true);
          assert.equal(variable.allValue, '.*', 'All must also match series without the label');
          assert.match(variable.definition ?? '', new RegExp(`^label_values\\(.*, ${label}\\)$`));
          assert.deepEqual(variable.query, { query: variable.definition, refId: `${label}-variable` });
        }
        // The environment variables come right after the datasource, in the design documents' order.
        assert.deepEqual(
          variables.slice(0, 5).map((v) => v.name),
          ['datasource', ...environmentLabels],
        );
      });

      it('every variable query goes through the datasource variable', () => {
        for (const variable of variablesOf(dashboard).filter((v) => v.type === 'query')) {
          assert.deepEqual(variable.datasource, datasourceRef, variable.name);
        }
      });

      it('panel ids are unique and panels do not overlap on the 24-column grid', () => {
        const ids = panels.map((p) => p.id);
        assert.equal(new Set(ids).size, ids.length, `duplicate panel ids in ${ids.join(',')}`);
        assert.ok(ids.every((panelId) => Number.isInteger(panelId) && panelId > 0));
        for (const [index, a] of panels.entries()) {
          assert.ok(a.gridPos.x >= 0 && a.gridPos.x + a.gridPos.w <= 24, `${a.title} fits the grid`);
          for (const b of panels.slice(index + 1)) {
            const overlap =
              a.gridPos.x < b.gridPos.x + b.gridPos.w &&
              b.gridPos.x < a.gridPos.x + a.gridPos.w &&
              a.gridPos.y < b.gridPos.y + b.gridPos.h &&
              b.gridPos.y < a.gridPos.y + a.gridPos.h;
            assert.ok(!overlap, `"${a.title}" overlaps "${b.title}"`);
          }
        }
      });

      it('every panel and target uses the datasource variable; no datasource uid is hard-coded', () => {
        for (const panel of panels.filter((p) => p.type !== 'row')) {
          assert.deepEqual(panel.datasource, datasourceRef, `panel "${panel.title}"`);
          assert.ok((panel.targets ?? []).length > 0, `panel "${panel.title}" has queries`);
          for (const target of panel.targets ?? []) {
            assert.deepEqual(target.datasource, datasourceRef, `panel "${panel.title}" target ${target.refId}`);
          }
        }
        const uids = [...JSON.stringify(dashboard).matchAll(/"uid":"([^"]*)"/g)].map((m) => m[1]);
        const allowed = new Set([dashboard.uid, '${datasource}', '-- Grafana --']);
        assert.deepEqual(
          uids.filter((uid) => !allowed.has(uid as string)),
          [],
        );
      });

      it('every series selector filters on provider, cluster, region and environment', () => {
        assert.ok(queries.length > 0);
        for (const query of queries) {
          const selectors = vectorSelectors(query.expr);
          assert.ok(selectors.length > 0, `"${query.panelTitle}" ${query.refId} selects no series: ${query.expr}`);
          for (const selector of selectors) {
            for (const label of environmentLabels) {
              assert.ok(
                selector.matchers.includes(`${label}=~"$${label}"`),
                `"${query.panelTitle}" ${query.refId}: ${selector.metric} does not filter on ${label}: ${query.expr}`,
              );
            }
          }
        }
      });

      it('refIds are unique within each panel', () => {
        for (const panel of panels) {
          const refs = (panel.targets ?? []).map((t) => t.refId);
          assert.equal(new Set(refs).size, refs.length, panel.title);
        }
      });
    });
  }
});

describe('load test overview', () => {
  const dashboard = loadBuiltInDashboard('loadtest-overview');
  const panels = panelsOf(dashboard);
  const rows = panels.filter((p) => p.type === 'row').map((p) => p.title);
  const exprsOf = (title: string) => panels.find((p) => p.title === title)?.targets?.map((t) => t.expr) ?? [];

  it("has the design documents' four sections, in order", () => {
    assert.equal(rows.length, 4);
    assert.match(rows[0] ?? '', /load test status.*client/i);
    assert.match(rows[1] ?? '', /server performance.*vLLM/i);
    assert.match(rows[2] ?? '', /GPU.*DCGM/i);
    assert.match(rows[3] ?? '', /correlation/i);
  });

  it('the client section shows rate, p50/p95/p99 of TTFT, ITL, TPOT and E2E, tokens/s, errors and in-flight', () => {
    const all = dashboardQueries(dashboard).map((q) => q.expr);
    for (const metric of ['ttft', 'itl', 'tpot', 'request_latency']) {
      for (const q of ['0.5', '0.95', '0.99']) {
        assert.ok(
          all.some((e) => e.startsWith(`histogram_quantile(${q}, sum by (le) (rate(guidellm_${metric}_seconds_bucket`)),
          `${metric} p${q}`,
        );
      }
    }
    for (const metric of [
      'guidellm_output_tokens_total',
      'guidellm_request_errors_total',
      'guidellm_requests_in_flight',
      'guidellm_run_phase',
      'guidellm_dispatch_lag_seconds_bucket',
    ]) {
      assert.ok(
        all.some((e) => e.includes(metric)),
        metric,
      );
    }
  });

  it('correlation puts client and server TTFT p95 on one panel, and request rate next to GPU utilization', () => {
    const ttft = exprsOf('TTFT p95: client vs server');
    assert.ok(ttft.some((e) => e.includes('guidellm_ttft_seconds_bucket') && !e.includes('vllm:')));
    assert.ok(ttft.some((e) => e.includes('vllm:time_to_first_token_seconds_bucket') && !e.includes('guidellm_')));
    const rate = exprsOf('Request rate vs GPU utilization');
    assert.ok(rate.some((e) => e.includes('guidellm_requests_total')));
    assert.ok(rate.some((e) => e.includes('DCGM_FI_DEV_GPU_UTIL')));
  });
});

describe("the design documents' queries are on the dashboards", () => {
  // The queries as the design documents write them, then with their literal label filters replaced by the
  // dashboard variables (the only adaptation): the dashboards must hold them with nothing else changed.
  const designQueries: Array<{ dashboard: BuiltInDashboard; written: string; shape: string }> = [
    {
      dashboard: 'loadtest-overview',
      written: 'rate(guidellm_requests_total{environment="development"}[1m])',
      shape: 'rate(guidellm_requests_total[1m])',
    },
    {
      dashboard: 'loadtest-overview',
      written: 'histogram_quantile(0.95, rate(guidellm_ttft_seconds_bucket[5m]))',
      shape: 'histogram_quantile(0.95, rate(guidellm_ttft_seconds_bucket[5m]))',
    },
    {
      dashboard: 'loadtest-overview',
      written: 'vllm:avg_generation_throughput_toks_per_s{model_name=~".*mistral.*"}',
      shape: 'vllm:avg_generation_throughput_toks_per_s',
    },
    {
      dashboard: 'loadtest-overview',
      written: 'histogram_quantile(0.95, rate(vllm:time_to_first_token_seconds_bucket[5m]))',
      shape: 'histogram_quantile(0.95, rate(vllm:time_to_first_token_seconds_bucket[5m]))',
    },
    { dashboard: 'loadtest-overview', written: 'avg(DCGM_FI_DEV_GPU_UTIL)', shape: 'avg(DCGM_FI_DEV_GPU_UTIL)' },
    { dashboard: 'loadtest-overview', written: 'sum(DCGM_FI_DEV_POWER_USAGE)', shape: 'sum(DCGM_FI_DEV_POWER_USAGE)' },
    { dashboard: 'vllm', written: 'vllm:num_requests_running', shape: 'sum(vllm:num_requests_running)' },
    { dashboard: 'vllm', written: 'vllm:num_requests_waiting', shape: 'sum(vllm:num_requests_waiting)' },
    {
      dashboard: 'vllm',
      written: 'vllm:avg_prompt_throughput_toks_per_s',
      shape: 'vllm:avg_prompt_throughput_toks_per_s',
    },
    { dashboard: 'gpu', written: 'avg(DCGM_FI_DEV_GPU_UTIL)', shape: 'avg(DCGM_FI_DEV_GPU_UTIL)' },
    { dashboard: 'gpu', written: 'sum(DCGM_FI_DEV_POWER_USAGE)', shape: 'sum(DCGM_FI_DEV_POWER_USAGE)' },
    {
      dashboard: 'gpu',
      written: 'DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)',
      shape: 'DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)',
    },
    {
      dashboard: 'rag-overview',
      written: 'histogram_quantile(0.95, rate(rag_ttft_seconds_bucket[5m]))',
      shape: 'histogram_quantile(0.95, rate(rag_ttft_seconds_bucket[5m]))',
    },
  ];

  for (const { dashboard, written, shape } of designQueries) {
    it(`${dashboard}: ${written}`, () => {
      const shapes = dashboardQueries(loadBuiltInDashboard(dashboard)).map((q) => withoutVariableMatchers(q.expr));
      assert.ok(shapes.includes(shape), `no query of shape ${shape}; shapes:\n${shapes.join('\n')}`);
    });
  }

  it('the vLLM, DCGM and rag_* metrics the design documents list all appear', () => {
    const all = builtInDashboards.flatMap((id) => dashboardQueries(loadBuiltInDashboard(id)).map((q) => q.expr));
    for (const metric of [
      'vllm:num_requests_running',
      'vllm:num_requests_waiting',
      'vllm:gpu_cache_usage_perc',
      'vllm:kv_cache_usage_perc',
      'vllm:avg_prompt_throughput_toks_per_s',
      'vllm:avg_generation_throughput_toks_per_s',
      'DCGM_FI_DEV_GPU_UTIL',
      'DCGM_FI_DEV_MEM_COPY_UTIL',
      'DCGM_FI_DEV_FB_USED',
      'DCGM_FI_DEV_FB_FREE',
      'DCGM_FI_DEV_POWER_USAGE',
      'DCGM_FI_DEV_GPU_TEMP',
      'rag_requests_total',
      'rag_request_duration_seconds',
      'rag_tokens_generated_total',
      'rag_ttft_seconds',
      'rag_retrieval_duration_seconds',
      'rag_generation_duration_seconds',
    ]) {
      assert.ok(
        all.some((e) => e.includes(metric)),
        metric,
      );
    }
  });

  it('benchmark comparison groups by provider, cluster, region and environment', () => {
    const queries = dashboardQueries(loadBuiltInDashboard('benchmark-comparison'));
    for (const query of queries) {
      assert.match(query.expr, /by \((le, )?provider, cluster, region, environment\)/, query.panelTitle);
    }
  });
});
