import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { type SimulatorHandle, startSimulator } from '../../../runner/sim/index.ts';
import { chunks, contentEvents, get, MODEL, postJson, streamPost } from './client.ts';

describe('simulator API over HTTP', () => {
  let sim: SimulatorHandle;
  const agent = new Agent({ connections: 16 });

  before(async () => {
    sim = await startSimulator({
      port: 0,
      ttftMs: 5,
      itlMs: 1,
      model: [MODEL, 'alias'],
      eosMinTokens: 20,
      eosMaxTokens: 40,
      maxModelLen: 2048,
    });
  });
  after(async () => {
    await agent.close();
    await sim.close();
  });

  it('streams a chat completion with the role chunk, exact tokens with ignore_eos, usage and [DONE]', async () => {
    const result = await streamPost(
      `${sim.url}/v1/chat/completions`,
      {
        model: MODEL,
        messages: [{ role: 'user', content: 'hello world' }],
        max_tokens: 17,
        ignore_eos: true,
        stream: true,
        stream_options: { include_usage: true },
      },
      { dispatcher: agent },
    );
    assert.equal(result.status, 200);
    assert.match(String(result.headers['content-type']), /^text\/event-stream/);
    assert.equal(result.error, undefined);
    const all = chunks(result);
    assert.deepEqual(all[0]?.choices[0]?.delta, { role: 'assistant', content: '' });
    assert.equal(contentEvents(result).length, 17);
    const contentChunks = all.filter((chunk) => chunk.choices[0]?.delta?.content);
    assert.deepEqual(
      contentChunks.map((chunk) => chunk.choices[0]?.finish_reason),
      [...Array(16).fill(null), 'length'],
    );
    const usage = all.at(-1);
    assert.deepEqual(usage?.choices, []);
    // "hello world": 1 BOS + 4 template + ceil(11 / 4) = 8
    assert.deepEqual(usage?.usage, { prompt_tokens: 8, completion_tokens: 17, total_tokens: 25 });
    assert.equal(result.events.at(-1)?.raw, 'data: [DONE]');
  });

  it('accepts max_completion_tokens and omits usage unless asked', async () => {
    const result = await streamPost(
      `${sim.url}/v1/chat/completions`,
      {
        model: 'alias',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
        max_completion_tokens: 3,
        ignore_eos: true,
        stream: true,
      },
      { dispatcher: agent },
    );
    assert.equal(contentEvents(result).length, 3);
    assert.ok(chunks(result).every((chunk) => chunk.usage === undefined));
    assert.equal(chunks(result)[0]?.choices[0]?.delta?.role, 'assistant');
  });

  it('streams completions with text chunks and usage', async () => {
    const result = await streamPost(
      `${sim.url}/v1/completions`,
      {
        model: MODEL,
        prompt: 'x'.repeat(400),
        max_tokens: 9,
        ignore_eos: true,
        stream: true,
        stream_options: { include_usage: true },
      },
      { dispatcher: agent },
    );
    const all = chunks(result);
    assert.equal(contentEvents(result).length, 9);
    assert.ok(all.every((chunk) => chunk.choices.every((choice) => choice.delta === undefined)));
    assert.deepEqual(all.at(-1)?.usage, { prompt_tokens: 101, completion_tokens: 9, total_tokens: 110 });
  });

  it('answers non-streaming chat and completions with usage', async () => {
    const chat = await postJson(
      `${sim.url}/v1/chat/completions`,
      { model: MODEL, messages: [{ role: 'user', content: 'abcd' }], max_tokens: 4, ignore_eos: true },
      { dispatcher: agent },
    );
    assert.equal(chat.status, 200);
    const chatBody = JSON.parse(chat.text);
    assert.equal(chatBody.object, 'chat.completion');
    assert.equal(chatBody.choices[0].message.role, 'assistant');
    assert.equal(chatBody.choices[0].message.content, ' The quick brown fox');
    assert.deepEqual(chatBody.usage, { prompt_tokens: 6, total_tokens: 10, completion_tokens: 4 });

    const completion = await postJson(
      `${sim.url}/v1/completions`,
      { model: MODEL, prompt: [1, 2, 3], max_tokens: 2, ignore_eos: true },
      { dispatcher: agent },
    );
    const completionBody = JSON.parse(completion.text);
    assert.equal(completionBody.object, 'text_completion');
    assert.equal(completionBody.choices[0].text, ' The quick');
    assert.deepEqual(completionBody.usage, { prompt_tokens: 3, total_tokens: 5, completion_tokens: 2 });
  });

  it('without ignore_eos stops at the simulated EOS, within max_tokens', async () => {
    for (const maxTokens of [10, 1000]) {
      const response = await postJson(
        `${sim.url}/v1/completions`,
        { model: MODEL, prompt: 'p', max_tokens: maxTokens },
        { dispatcher: agent },
      );
      const body = JSON.parse(response.text);
      const tokens = body.usage.completion_tokens;
      if (maxTokens === 10) {
        assert.equal(tokens, 10);
        assert.equal(body.choices[0].finish_reason, 'length');
      } else {
        assert.ok(tokens >= 20 && tokens <= 40, `EOS after ${tokens} tokens`);
        assert.equal(body.choices[0].finish_reason, 'stop');
      }
    }
  });

  it('lists the served models', async () => {
    const response = await get(`${sim.url}/v1/models`, { dispatcher: agent });
    assert.equal(response.status, 200);
    const body = JSON.parse(response.text);
    assert.equal(body.object, 'list');
    assert.deepEqual(
      body.data.map((model: { id: string }) => model.id),
      [MODEL, 'alias'],
    );
    assert.equal(body.data[0].max_model_len, 2048);
  });

  it("returns vLLM's 404 body for an unknown model", async () => {
    const response = await postJson(
      `${sim.url}/v1/chat/completions`,
      { model: 'nope', messages: [{ role: 'user', content: 'x' }] },
      { dispatcher: agent },
    );
    assert.equal(response.status, 404);
    assert.deepEqual(JSON.parse(response.text), {
      object: 'error',
      message: 'The model `nope` does not exist.',
      type: 'NotFoundError',
      param: null,
      code: 404,
    });
  });

  it('returns 400 naming the problem for bad JSON, missing fields and oversized requests', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['/v1/chat/completions', '{"model": ', /request body is not valid JSON/],
      ['/v1/chat/completions', { model: MODEL }, /messages: expected an array of messages/],
      ['/v1/chat/completions', { model: MODEL, messages: [] }, /messages: expected at least one message/],
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }] }, /model: expected the model name/],
      ['/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 0 }, /max_tokens: Too small/],
      ['/v1/completions', { model: MODEL, prompt: ['a', 'b'] }, /prompt: expected a string or an array of token ids/],
      ['/v1/completions', { model: MODEL, prompt: 'x', n: 2 }, /n: the simulator supports only n = 1/],
      ['/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 5000 }, /maximum context length is 2048 tokens/],
      ['/v1/completions', [1, 2], /request body must be a JSON object/],
    ];
    for (const [path, body, message] of cases) {
      const response = await postJson(`${sim.url}${path}`, body, { dispatcher: agent });
      assert.equal(response.status, 400, `${JSON.stringify(body)} -> ${response.text}`);
      const error = JSON.parse(response.text);
      assert.equal(error.object, 'error');
      assert.equal(error.type, 'BadRequestError');
      assert.equal(error.code, 400);
      assert.match(error.message, message);
    }
  });

  it('rejects an invalid x-sim-fault header with 400', async () => {
    const response = await postJson(
      `${sim.url}/v1/completions`,
      { model: MODEL, prompt: 'x' },
      { dispatcher: agent, headers: { 'x-sim-fault': 'explode' } },
    );
    assert.equal(response.status, 400);
    assert.match(JSON.parse(response.text).message, /x-sim-fault header: unknown fault "explode"/);
  });

  it('serves /health, /ping and FastAPI-style 404/405', async () => {
    assert.equal((await get(`${sim.url}/health`, { dispatcher: agent })).status, 200);
    assert.equal((await get(`${sim.url}/ping`, { dispatcher: agent })).status, 200);
    assert.equal((await postJson(`${sim.url}/ping`, {}, { dispatcher: agent })).status, 200);
    const missing = await get(`${sim.url}/v2/whatever`, { dispatcher: agent });
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.text), { detail: 'Not Found' });
    const wrongMethod = await get(`${sim.url}/v1/chat/completions`, { dispatcher: agent });
    assert.equal(wrongMethod.status, 405);
  });
});

describe('simulator with an API key', () => {
  let sim: SimulatorHandle;
  const agent = new Agent();
  const body = { model: MODEL, prompt: 'x', max_tokens: 1 };

  before(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 1, itlMs: 1, apiKey: 'sekret' });
  });
  after(async () => {
    await agent.close();
    await sim.close();
  });

  it('returns 401 without or with a wrong bearer token on /v1/*', async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: 'sekret' },
    ];
    for (const headers of attempts) {
      const response = await postJson(`${sim.url}/v1/completions`, body, { dispatcher: agent, headers });
      assert.equal(response.status, 401);
      assert.deepEqual(JSON.parse(response.text), { error: 'Unauthorized' });
    }
    assert.equal((await get(`${sim.url}/v1/models`, { dispatcher: agent })).status, 401);
  });

  it('accepts the right key, and leaves /health and /metrics open like vLLM', async () => {
    const response = await postJson(`${sim.url}/v1/completions`, body, {
      dispatcher: agent,
      headers: { authorization: 'Bearer sekret' },
    });
    assert.equal(response.status, 200);
    assert.equal((await get(`${sim.url}/health`, { dispatcher: agent })).status, 200);
    assert.equal((await get(`${sim.url}/metrics`, { dispatcher: agent })).status, 200);
  });
});
