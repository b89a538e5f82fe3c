import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { type SimulatorHandle, startSimulator } from '../../../runner/sim/index.ts';
import { chunks, get, MODEL, metricValue, postJson, streamPost, waitFor } from './client.ts';

const LABELS = `{model_name="${MODEL}",engine="0"}`;

describe('/metrics', () => {
  let sim: SimulatorHandle;
  const agent = new Agent({ connections: 8 });
  const scrape = async () => {
    const response = await get(`${sim.url}/metrics`, { dispatcher: agent });
    assert.equal(response.status, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return response.text;
  };

  before(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 5, itlMs: 1 });
  });
  after(async () => {
    await agent.close();
    await sim.close();
  });

  it("reports vLLM's metrics with the right values after a few requests", async () => {
    let promptTokens = 0;
    for (let i = 0; i < 3; i++) {
      const result = await streamPost(
        `${sim.url}/v1/chat/completions`,
        {
          model: MODEL,
          messages: [{ role: 'user', content: 'm'.repeat(10 * (i + 1)) }],
          max_tokens: 7,
          ignore_eos: true,
          stream: true,
          stream_options: { include_usage: true },
        },
        { dispatcher: agent },
      );
      promptTokens += chunks(result).at(-1)?.usage?.prompt_tokens ?? 0;
    }
    for (let i = 0; i < 2; i++) {
      const response = await postJson(
        `${sim.url}/v1/completions`,
        { model: MODEL, prompt: 'abc', max_tokens: 4, ignore_eos: true },
        { dispatcher: agent },
      );
      promptTokens += JSON.parse(response.text).usage.prompt_tokens;
    }
    const text = await scrape();
    const value = (name: string) => metricValue(text, `${name}${LABELS}`);
    assert.equal(value('vllm:generation_tokens_total'), 3 * 7 + 2 * 4);
    assert.equal(value('vllm:prompt_tokens_total'), promptTokens);
    assert.equal(
      metricValue(text, `vllm:request_success_total{model_name="${MODEL}",engine="0",finished_reason="length"}`),
      5,
    );
    assert.equal(value('vllm:num_requests_running'), 0);
    assert.equal(value('vllm:num_requests_waiting'), 0);
    assert.equal(value('vllm:kv_cache_usage_perc'), 0);
    assert.equal(value('vllm:gpu_cache_usage_perc'), 0);
    assert.equal(value('vllm:time_to_first_token_seconds_count'), 5);
    assert.ok((value('vllm:time_to_first_token_seconds_sum') ?? 0) >= 5 * 0.005);
    assert.equal(value('vllm:e2e_request_latency_seconds_count'), 5);
    assert.equal(value('vllm:request_queue_time_seconds_count'), 5);
    assert.equal(value('vllm:inter_token_latency_seconds_count'), 3 * 6 + 2 * 3);
    assert.equal(value('vllm:time_per_output_token_seconds_count'), 3 * 6 + 2 * 3);
    assert.equal(value('vllm:request_generation_tokens_count'), 5);
    assert.ok((value('vllm:avg_generation_throughput_toks_per_s') ?? 0) > 0);
    assert.ok((value('vllm:avg_prompt_throughput_toks_per_s') ?? 0) > 0);
    for (const name of [
      'vllm:time_to_first_token_seconds_bucket',
      'vllm:e2e_request_latency_seconds_bucket',
      'vllm:inter_token_latency_seconds_bucket',
    ]) {
      assert.ok(text.includes(`${name}{model_name="${MODEL}",engine="0",le="+Inf"}`), `missing ${name}`);
    }
    assert.ok(text.includes('process_cpu_seconds_total'), 'process metrics are exported');
  });

  it('shows a running request, its KV-cache use, and counts it as aborted when the client leaves', async () => {
    const controller = new AbortController();
    const streaming = streamPost(
      `${sim.url}/v1/chat/completions`,
      {
        model: MODEL,
        messages: [{ role: 'user', content: 'k'.repeat(400) }],
        max_tokens: 20_000,
        ignore_eos: true,
        stream: true,
      },
      { signal: controller.signal },
    );
    await waitFor(async () => {
      const text = await scrape();
      return (
        metricValue(text, `vllm:num_requests_running${LABELS}`) === 1 &&
        (metricValue(text, `vllm:kv_cache_usage_perc${LABELS}`) ?? 0) > 0
      );
    }, 'a running request with KV-cache use');
    controller.abort();
    await streaming.catch(() => undefined);
    await waitFor(async () => {
      const text = await scrape();
      return (
        metricValue(text, `vllm:request_success_total{model_name="${MODEL}",engine="0",finished_reason="abort"}`) === 1
      );
    }, 'the aborted request to be counted');
    const text = await scrape();
    assert.equal(metricValue(text, `vllm:num_requests_running${LABELS}`), 0);
    assert.equal(sim.stats().aborted, 1);
  });
});
