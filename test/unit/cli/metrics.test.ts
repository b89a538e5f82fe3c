import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import type { RequestResult } from '../../../runner/engine/types.ts';
import { FastHistogram } from '../../../runner/metrics/fast-histogram.ts';
import { latencyBuckets, RunnerMetrics } from '../../../runner/metrics/runner-metrics.ts';

function result(over: Partial<RequestResult> = {}): RequestResult {
  return {
    index: 0,
    stage: 0,
    step: 0,
    phase: 'measure',
    scheduledAt: 0,
    sentAt: 0,
    dispatchLagSeconds: 0.0003,
    late: false,
    ok: true,
    ttftSeconds: 0.12,
    itlSeconds: [0.01, 0.02, 0.011],
    tpotSeconds: 0.0137,
    e2eSeconds: 0.161,
    promptTokens: 100,
    outputTokens: 4,
    requestedOutputTokens: 4,
    ...over,
  };
}

describe('FastHistogram', () => {
  it('exposes exactly what a prom-client Histogram exposes for the same observations', async () => {
    const labels = { environment: 'dev', target: 't', model: 'm' };
    const values = [0, 0.005, 0.0051, 0.1, 0.1, 0.75, 2, 599, 600, 601, 1e6];
    const fastRegistry = new Registry();
    const fast = new FastHistogram({
      name: 'x_seconds',
      help: 'x',
      labelNames: Object.keys(labels),
      buckets: latencyBuckets,
      registry: fastRegistry,
    });
    const series = fast.bind(labels);
    const refRegistry = new Registry();
    const ref = new Histogram({
      name: 'x_seconds',
      help: 'x',
      labelNames: Object.keys(labels),
      buckets: latencyBuckets,
      registers: [refRegistry],
    });
    for (const v of values) {
      series.observe(v);
      ref.observe(labels, v);
    }
    assert.equal(await fastRegistry.metrics(), await refRegistry.metrics());
    const strip = (v: { values: Array<Record<string, unknown>> }) => v.values.map(({ exemplar, ...rest }) => rest);
    assert.deepEqual(strip(await fast.get()), strip(await ref.get()));
  });
});

describe('RunnerMetrics', () => {
  it('uses the design-document names and labels, omitting optional labels that were not given', async () => {
    const m = new RunnerMetrics({ optionalLabels: ['cluster', 'loadtest'], processMetrics: false, version: '1.2.3' });
    const t = m.forTarget({
      environment: 'development',
      target: 'mistral-7b',
      model: 'mistral',
      cluster: 'c1',
      loadtest: 'lt',
    });
    t.observe(result());
    t.observe(result({ ok: false, errorClass: 'http', httpStatus: 503, itlSeconds: [] }));
    t.observe(result({ ok: false, errorClass: 'timeout', itlSeconds: [], late: true }));
    const text = await m.render();
    const base = 'environment="development",target="mistral-7b",model="mistral",cluster="c1",loadtest="lt"';
    assert.match(text, new RegExp(`^guidellm_requests_total\\{${base},status="success"\\} 1$`, 'm'));
    assert.match(text, new RegExp(`^guidellm_requests_total\\{${base},status="error"\\} 2$`, 'm'));
    assert.match(
      text,
      new RegExp(`^guidellm_request_errors_total\\{${base},error_class="http",http_status="503"\\} 1$`, 'm'),
    );
    assert.match(
      text,
      new RegExp(`^guidellm_request_errors_total\\{${base},error_class="timeout",http_status=""\\} 1$`, 'm'),
    );
    assert.match(text, new RegExp(`^guidellm_requests_late_total\\{${base}\\} 1$`, 'm'));
    assert.match(text, new RegExp(`^guidellm_ttft_seconds_bucket\\{le="0\\.15",${base}\\} 1$`, 'm'));
    assert.match(
      text,
      new RegExp(`^guidellm_ttft_seconds_count\\{${base}\\} 1$`, 'm'),
      'failed requests stay out of latencies',
    );
    assert.match(text, new RegExp(`^guidellm_itl_seconds_count\\{${base}\\} 3$`, 'm'));
    assert.match(text, new RegExp(`^guidellm_tpot_seconds_count\\{${base}\\} 1$`, 'm'));
    assert.match(text, new RegExp(`^guidellm_request_latency_seconds_count\\{${base}\\} 1$`, 'm'));
    assert.match(text, new RegExp(`^guidellm_dispatch_lag_seconds_count\\{${base}\\} 3$`, 'm'));
    assert.match(text, new RegExp(`^guidellm_prompt_tokens_total\\{${base}\\} 100$`, 'm'));
    assert.match(text, new RegExp(`^guidellm_output_tokens_total\\{${base}\\} 4$`, 'm'));
    assert.match(text, new RegExp(`^guidellm_requests_in_flight\\{${base}\\} 0$`, 'm'));
    assert.match(text, /^guidellm_runner_info\{version="1\.2\.3"\} 1$/m);
    assert.doesNotMatch(text, /provider=|region=/);
  });

  it('counts only measure-phase requests, like the report', async () => {
    const m = new RunnerMetrics({ optionalLabels: [], processMetrics: false, version: '0' });
    const t = m.forTarget({ environment: 'e', target: 't', model: 'm' });
    t.observe(result({ phase: 'warmup' }));
    t.observe(result({ phase: 'cooldown' }));
    t.observe(result());
    const text = await m.render();
    assert.match(text, /^guidellm_requests_total\{environment="e",target="t",model="m",status="success"\} 1$/m);
    assert.match(text, /^guidellm_ttft_seconds_count\{environment="e",target="t",model="m"\} 1$/m);
  });

  it('tracks phase, in-flight and finished runs', async () => {
    const m = new RunnerMetrics({ optionalLabels: [], processMetrics: false, version: '0' });
    const t = m.forTarget({ environment: 'e', target: 't', model: 'm' });
    t.setPhase('measure');
    t.setInFlight(7);
    let text = await m.render();
    assert.match(text, /^guidellm_run_phase\{environment="e",target="t",model="m",phase="measure"\} 1$/m);
    assert.match(text, /^guidellm_run_phase\{environment="e",target="t",model="m",phase="warmup"\} 0$/m);
    assert.match(text, /^guidellm_requests_in_flight\{environment="e",target="t",model="m"\} 7$/m);
    t.runFinished('slo_breached', 1_700_000_000_000);
    text = await m.render();
    assert.match(text, /^guidellm_runs_total\{environment="e",target="t",model="m",outcome="slo_breached"\} 1$/m);
    assert.match(text, /^guidellm_last_run_end_timestamp_seconds\{environment="e",target="t",model="m"\} 1700000000$/m);
    assert.match(text, /^guidellm_run_phase\{environment="e",target="t",model="m",phase="idle"\} 1$/m);
  });
});
