import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AggregatorRegistry } from 'prom-client';
import {
  FastHistogram,
  oneTwoFiveBuckets,
  SimMetrics,
  ThroughputWindow,
  TTFT_BUCKETS,
} from '../../../runner/sim/metrics.ts';

function metricsWith(gauges = { running: () => 3, waiting: () => 2, kvTokens: () => 250 }) {
  return new SimMetrics({ model: 'org/model', maxModelLen: 1000, kvCacheTokens: 1000, processMetrics: false }, gauges);
}

describe('FastHistogram', () => {
  it('exports cumulative buckets, +Inf, sum and count like prom-client', () => {
    const histogram = new FastHistogram('h', 'help', [1, 2, 5], { model_name: 'm' });
    for (const value of [0.5, 1, 1.5, 4, 9]) histogram.observe(value);
    const exported = histogram.get();
    assert.equal(exported.type, 'histogram');
    assert.deepEqual(
      exported.values.map((v) => [v.metricName, v.labels.le ?? null, v.value]),
      [
        ['h_bucket', '1', 2],
        ['h_bucket', '2', 3],
        ['h_bucket', '5', 4],
        ['h_bucket', '+Inf', 5],
        ['h_sum', null, 16],
        ['h_count', null, 5],
      ],
    );
  });
});

describe("vLLM's bucket layouts", () => {
  it('builds 1-2-5 buckets up to the context length', () => {
    assert.deepEqual(oneTwoFiveBuckets(100), [1, 2, 5, 10, 20, 50, 100]);
    assert.deepEqual(oneTwoFiveBuckets(1000).at(-1), 1000);
  });

  it('keeps the TTFT buckets of vLLM', () => {
    assert.equal(TTFT_BUCKETS[0], 0.001);
    assert.equal(TTFT_BUCKETS.at(-1), 2560);
  });
});

describe('ThroughputWindow', () => {
  it('averages over the samples kept in the window', () => {
    const window = new ThroughputWindow(10_000);
    window.sample(0, 0);
    window.sample(1000, 100);
    assert.equal(window.perSecond(2000, 300), 150);
    for (let t = 2000; t <= 20_000; t += 1000) window.sample(t, t);
    // The oldest sample kept is at most 10 s old.
    assert.equal(window.perSecond(20_000, 20_000), 1000);
  });
});

describe('SimMetrics', () => {
  it("exposes vLLM's metric names with the model_name label", async () => {
    const metrics = metricsWith();
    metrics.ttft.observe(0.05);
    metrics.generationTokens.inc(7);
    metrics.requestSuccess.inc(1, 'length');
    const text = await metrics.registry.metrics();
    metrics.stop();
    const labels = '{model_name="org/model",engine="0"}';
    for (const line of [
      `vllm:num_requests_running${labels} 3`,
      `vllm:num_requests_waiting${labels} 2`,
      `vllm:kv_cache_usage_perc${labels} 0.25`,
      `vllm:gpu_cache_usage_perc${labels} 0.25`,
      `vllm:generation_tokens_total${labels} 7`,
      `vllm:prompt_tokens_total${labels} 0`,
      'vllm:request_success_total{model_name="org/model",engine="0",finished_reason="length"} 1',
      'vllm:request_success_total{model_name="org/model",engine="0",finished_reason="stop"} 0',
      'vllm:time_to_first_token_seconds_bucket{model_name="org/model",engine="0",le="0.06"} 1',
      `vllm:time_to_first_token_seconds_count${labels} 1`,
      '# TYPE vllm:inter_token_latency_seconds histogram',
      '# TYPE vllm:time_per_output_token_seconds histogram',
      '# TYPE vllm:e2e_request_latency_seconds histogram',
      '# TYPE vllm:request_queue_time_seconds histogram',
      '# TYPE vllm:avg_prompt_throughput_toks_per_s gauge',
      '# TYPE vllm:avg_generation_throughput_toks_per_s gauge',
      '# TYPE vllm:generation_tokens_total counter',
    ]) {
      assert.ok(text.includes(line), `missing: ${line}`);
    }
  });

  it('merges across workers with AggregatorRegistry: sums counters, averages cache usage', async () => {
    const a = metricsWith({ running: () => 1, waiting: () => 0, kvTokens: () => 100 });
    const b = metricsWith({ running: () => 2, waiting: () => 4, kvTokens: () => 300 });
    a.generationTokens.inc(10);
    b.generationTokens.inc(5);
    a.ttft.observe(0.01);
    b.ttft.observe(0.02);
    const merged = await AggregatorRegistry.aggregate([
      await a.registry.getMetricsAsJSON(),
      await b.registry.getMetricsAsJSON(),
    ]).metrics();
    a.stop();
    b.stop();
    const labels = '{model_name="org/model",engine="0"}';
    assert.ok(merged.includes(`vllm:generation_tokens_total${labels} 15`));
    assert.ok(merged.includes(`vllm:num_requests_running${labels} 3`));
    assert.ok(merged.includes(`vllm:num_requests_waiting${labels} 4`));
    assert.ok(merged.includes(`vllm:kv_cache_usage_perc${labels} 0.2`));
    assert.ok(merged.includes(`vllm:time_to_first_token_seconds_count${labels} 2`));
  });
});
