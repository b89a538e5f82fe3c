import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { completionBody, DONE_EVENT, errorBody, StreamRenderer } from '../../../runner/sim/render.ts';
import { OUTPUT_WORDS } from '../../../runner/sim/tokens.ts';

const MODEL = 'mistralai/Mistral-7B-Instruct-v0.3';

/** Parses `data: {...}\n\n` into its JSON value. */
function parseEvent(event: string): Record<string, unknown> {
  assert.ok(event.startsWith('data: '), `event must start with "data: ": ${event}`);
  assert.ok(event.endsWith('\n\n'), 'event must end with a blank line');
  return JSON.parse(event.slice(6, -2)) as Record<string, unknown>;
}

describe('StreamRenderer (chat)', () => {
  const renderer = new StreamRenderer('chat', 'chatcmpl-abc', 1700000000, MODEL);

  it('renders the role chunk like vLLM', () => {
    assert.deepEqual(parseEvent(renderer.roleEvent()), {
      id: 'chatcmpl-abc',
      object: 'chat.completion.chunk',
      created: 1700000000,
      model: MODEL,
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
    });
  });

  it('renders one token per chunk from the precomputed tails', () => {
    const chunk = parseEvent(renderer.contentEvent(1, 2, null));
    assert.deepEqual(chunk.choices, [
      { index: 0, delta: { content: OUTPUT_WORDS[1] }, logprobs: null, finish_reason: null },
    ]);
    assert.equal(chunk.id, 'chatcmpl-abc');
    assert.equal(chunk.object, 'chat.completion.chunk');
  });

  it('renders several tokens in one chunk and the finish reason on the last chunk', () => {
    const middle = parseEvent(renderer.contentEvent(2, 5, null));
    assert.deepEqual(middle.choices, [
      { index: 0, delta: { content: OUTPUT_WORDS.slice(2, 5).join('') }, logprobs: null, finish_reason: null },
    ]);
    const last = parseEvent(renderer.contentEvent(5, 6, 'length'));
    assert.deepEqual(last.choices, [
      { index: 0, delta: { content: OUTPUT_WORDS[5] }, logprobs: null, finish_reason: 'length', stop_reason: null },
    ]);
  });

  it('renders the usage-only chunk', () => {
    const usage = parseEvent(renderer.usageEvent(12, 30));
    assert.deepEqual(usage.choices, []);
    assert.deepEqual(usage.usage, { prompt_tokens: 12, total_tokens: 42, completion_tokens: 30 });
  });

  it('renders malformed events that a client cannot parse', () => {
    assert.throws(() => parseEvent(renderer.malformedJsonEvent()), SyntaxError);
    assert.ok(!renderer.malformedSseEvent().startsWith('data:'));
    assert.ok(renderer.malformedSseEvent().endsWith('\n\n'));
  });

  it('knows whether its bytes are ASCII', () => {
    assert.equal(renderer.ascii, true);
    assert.equal(new StreamRenderer('chat', 'x', 1, 'modèle').ascii, false);
  });

  it('escapes model names in JSON', () => {
    const quoted = new StreamRenderer('chat', 'x', 1, 'a"b');
    assert.equal(parseEvent(quoted.contentEvent(0, 1, null)).model, 'a"b');
  });
});

describe('StreamRenderer (completions)', () => {
  const renderer = new StreamRenderer('completion', 'cmpl-1', 5, MODEL);

  it('has no role chunk and puts text in choices[].text', () => {
    assert.equal(renderer.roleEvent(), '');
    const chunk = parseEvent(renderer.contentEvent(0, 1, null));
    assert.equal(chunk.object, 'text_completion');
    assert.deepEqual(chunk.choices, [
      { index: 0, text: OUTPUT_WORDS[0], logprobs: null, finish_reason: null, stop_reason: null },
    ]);
    const last = parseEvent(renderer.contentEvent(1, 3, 'stop'));
    assert.deepEqual(last.choices, [
      { index: 0, text: OUTPUT_WORDS.slice(1, 3).join(''), logprobs: null, finish_reason: 'stop', stop_reason: null },
    ]);
  });

  it('ends streams with [DONE]', () => {
    assert.equal(DONE_EVENT, 'data: [DONE]\n\n');
  });
});

describe('non-streaming bodies', () => {
  it('renders a chat completion with usage', () => {
    const body = JSON.parse(completionBody('chat', 'chatcmpl-1', 9, MODEL, 10, 3, 'length'));
    assert.equal(body.object, 'chat.completion');
    assert.deepEqual(body.choices[0].message, {
      role: 'assistant',
      content: OUTPUT_WORDS.slice(0, 3).join(''),
      tool_calls: [],
    });
    assert.equal(body.choices[0].finish_reason, 'length');
    assert.deepEqual(body.usage, { prompt_tokens: 10, total_tokens: 13, completion_tokens: 3 });
  });

  it('renders a text completion with usage', () => {
    const body = JSON.parse(completionBody('completion', 'cmpl-1', 9, MODEL, 4, 2, 'stop'));
    assert.equal(body.object, 'text_completion');
    assert.equal(body.choices[0].text, OUTPUT_WORDS.slice(0, 2).join(''));
    assert.equal(body.choices[0].finish_reason, 'stop');
    assert.deepEqual(body.usage, { prompt_tokens: 4, total_tokens: 6, completion_tokens: 2 });
  });

  it("renders vLLM's error shape", () => {
    assert.deepEqual(JSON.parse(errorBody('The model `x` does not exist.', 'NotFoundError', 404)), {
      object: 'error',
      message: 'The model `x` does not exist.',
      type: 'NotFoundError',
      param: null,
      code: 404,
    });
  });
});
