import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BadPayloadError,
  CHUNK_CONTENT,
  CHUNK_DONE,
  CHUNK_FINISH,
  CHUNK_NEEDS_PARSE,
  parseChunk,
  scanChunk,
} from '../../../runner/engine/chunk.ts';
import { Rng } from '../../../runner/engine/random.ts';
import type { ApiKind } from '../../../runner/engine/types.ts';

function scan(text: string, api: ApiKind = 'chat'): number {
  const buf = Buffer.from(`xx${text}yy`); // payload inside a larger buffer, as in a network chunk
  return scanChunk(buf, 2, buf.length - 2, api);
}

/** What the fast path and the full parse agree a payload means. */
function meaning(text: string, api: ApiKind): { content: boolean; finish: boolean } {
  const flags = scan(text, api);
  if (flags & CHUNK_NEEDS_PARSE) {
    const p = parseChunk(text, api);
    return { content: p.content, finish: p.finish };
  }
  return { content: (flags & CHUNK_CONTENT) !== 0, finish: (flags & CHUNK_FINISH) !== 0 };
}

const vllmChat = (delta: string, finish = 'null') =>
  `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish}}]}`;
const vllmText = (text: string, finish = 'null') =>
  `{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":${text},"logprobs":null,"finish_reason":${finish},"stop_reason":null}]}`;

describe('scanChunk (fast path)', () => {
  it('recognizes [DONE], with surrounding whitespace too', () => {
    assert.equal(scan('[DONE]'), CHUNK_DONE);
    assert.equal(scan(' [DONE]\n'), CHUNK_DONE);
  });

  it('detects non-empty chat content without parsing', () => {
    assert.equal(scan(vllmChat('{"content":" the"}')), CHUNK_CONTENT);
    assert.equal(scan(vllmChat('{"role":"assistant","content":""}')), 0);
    assert.equal(scan(vllmChat('{"content":null}')), 0);
    assert.equal(scan(vllmChat('{}', '"length"')), CHUNK_FINISH);
    assert.equal(scan(vllmChat('{"content":"x"}', '"stop"')), CHUNK_CONTENT | CHUNK_FINISH);
  });

  it('counts reasoning_content as content', () => {
    assert.equal(scan(vllmChat('{"reasoning_content":"hmm"}')), CHUNK_CONTENT);
  });

  it('detects non-empty completions text without parsing', () => {
    assert.equal(scan(vllmText('"a"'), 'completions'), CHUNK_CONTENT);
    assert.equal(scan(vllmText('""', '"length"'), 'completions'), CHUNK_FINISH);
  });

  it('is not fooled by key-like text inside content strings', () => {
    const tricky = vllmChat(JSON.stringify({ content: '{"content":"","finish_reason":"stop","usage":{}}' }));
    assert.equal(scan(tricky), CHUNK_CONTENT);
  });

  it('sends anything it does not fully understand to the full parse', () => {
    assert.equal(scan('{"id":"x","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9}}'), CHUNK_NEEDS_PARSE);
    assert.equal(scan('{"error":{"message":"boom"}}'), CHUNK_NEEDS_PARSE);
    assert.equal(scan('{ "choices": [ { "delta": { "content": "spaced" } } ] }'), CHUNK_NEEDS_PARSE);
    assert.equal(scan('{"choices":[{"delta":{"content":"tru'), CHUNK_NEEDS_PARSE);
    assert.equal(scan('not json at all'), CHUNK_NEEDS_PARSE);
  });
});

describe('parseChunk (slow path)', () => {
  it('reads usage, content and finish', () => {
    const p = parseChunk('{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9}}', 'chat');
    assert.deepEqual(p, { content: false, finish: false, usage: { promptTokens: 5, completionTokens: 9 } });
    assert.equal(parseChunk('{ "choices": [ { "delta": { "content": "spaced" } } ] }', 'chat').content, true);
  });

  it('surfaces an error object sent inside the stream', () => {
    assert.equal(parseChunk('{"error":{"message":"out of memory","code":500}}', 'chat').error, 'out of memory');
  });

  it('rejects malformed JSON and unexpected shapes with BadPayloadError', () => {
    assert.throws(() => parseChunk('{"choices":[{"delta":{"content":"tru', 'chat'), BadPayloadError);
    assert.throws(() => parseChunk('[1,2]', 'chat'), /not a JSON object/);
    assert.throws(() => parseChunk('{"hello":1}', 'chat'), /neither choices, usage nor error/);
  });
});

describe('fast path agrees with the full parse', () => {
  it('on randomly generated compact chunks (property test, seeded)', () => {
    const rng = new Rng(1234);
    const texts = [
      '',
      'a',
      ' the',
      '"quoted"',
      '{"content":"x"}',
      '\\',
      'line\nbreak',
      'ünï',
      ',"finish_reason":"stop"',
    ];
    for (let i = 0; i < 3000; i++) {
      const api: ApiKind = rng.next() < 0.5 ? 'chat' : 'completions';
      const pick = <T>(xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)] as T;
      const value = pick<string | null>([...texts, null]);
      const finish = pick([null, 'stop', 'length']);
      const choice: Record<string, unknown> = { index: 0 };
      if (api === 'chat') {
        const delta: Record<string, unknown> = {};
        if (rng.next() < 0.3) delta.role = 'assistant';
        if (rng.next() < 0.9) delta.content = value;
        if (rng.next() < 0.1) delta.reasoning_content = pick(texts);
        choice.delta = delta;
      } else {
        choice.text = value ?? '';
      }
      choice.logprobs = null;
      choice.finish_reason = finish;
      const obj: Record<string, unknown> = { id: pick(texts), object: 'chunk', choices: [choice] };
      if (rng.next() < 0.2) obj.usage = rng.next() < 0.5 ? null : { prompt_tokens: 3, completion_tokens: 4 };
      const text = JSON.stringify(obj);
      const full = parseChunk(text, api);
      assert.deepEqual(meaning(text, api), { content: full.content, finish: full.finish }, text);
    }
  });
});
