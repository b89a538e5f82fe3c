import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDataset, RequestFactory, wordsForTokens } from '../../../runner/engine/data.ts';
import type { DataSpec } from '../../../runner/engine/types.ts';
import { WORDS } from '../../../runner/engine/words.ts';

const spec = (over: Partial<DataSpec> = {}): DataSpec => ({
  promptTokens: { kind: 'uniform', min: 50, max: 150 },
  outputTokens: { kind: 'normal', mean: 100, stddev: 20, min: 10, max: 200 },
  sharedPrefixTokens: 0,
  seed: 1,
  ...over,
});

const words = (s: string | undefined) => (s ?? '').split(' ').length;

describe('RequestFactory', () => {
  it('gives the same request for the same seed and index, in any order', () => {
    const a = new RequestFactory(spec());
    const b = new RequestFactory(spec());
    const forward = [0, 1, 2, 3, 4].map((i) => a.make(i));
    const backward = [4, 3, 2, 1, 0].map((i) => b.make(i)).reverse();
    assert.deepEqual(forward, backward);
    assert.notDeepEqual(a.make(0), new RequestFactory(spec({ seed: 2 })).make(0));
  });

  it('sizes prompts from the calibration and keeps lengths within the distributions', () => {
    const f = new RequestFactory(spec());
    f.setCalibration({ method: 'probe', tokensPerWord: 1.25, overheadTokens: 10 });
    for (let i = 0; i < 200; i++) {
      const r = f.make(i);
      const p = r.requestedPromptTokens as number;
      assert.ok(p >= 50 && p <= 150);
      assert.ok(r.maxTokens >= 10 && r.maxTokens <= 200);
      assert.equal(words(r.prompt), wordsForTokens(p - 10, 1.25));
      for (const w of (r.prompt as string).split(' ')) assert.ok(WORDS.includes(w));
    }
  });

  it('starts every prompt with the same shared prefix', () => {
    const f = new RequestFactory(spec({ sharedPrefixTokens: 40 }));
    const prompts = [0, 1, 2].map((i) => f.make(i).prompt as string);
    const prefix = (prompts[0] as string).split(' ').slice(0, 40).join(' ');
    for (const p of prompts) assert.ok(p.startsWith(`${prefix} `));
    assert.notEqual(prompts[0], prompts[1]);
  });

  it('uses dataset rows in order, cycling, with their output_tokens', () => {
    const rows = parseDataset(
      '{"prompt":"hello","output_tokens":7}\n\n{"messages":[{"role":"user","content":"hi"}]}\n',
      'mem.jsonl',
    );
    const f = new RequestFactory(spec(), rows);
    assert.deepEqual(f.make(0), { maxTokens: 7, prompt: 'hello' });
    assert.deepEqual(f.make(1).messages, [{ role: 'user', content: 'hi' }]);
    assert.equal(f.make(2).prompt, 'hello');
  });

  it('reports dataset errors with file and line', () => {
    assert.throws(() => parseDataset('{"prompt":"a"}\n{oops}\n', 'd.jsonl'), /data\.dataset d\.jsonl:2: invalid JSON/);
    assert.throws(() => parseDataset('{"text":"a"}', 'd.jsonl'), /d\.jsonl:1: expected "prompt"/);
    assert.throws(
      () => parseDataset('{"prompt":"a","output_tokens":0}', 'd.jsonl'),
      /output_tokens" must be an integer ≥ 1/,
    );
    assert.throws(() => parseDataset('\n\n', 'd.jsonl'), /no rows/);
    assert.throws(() => new RequestFactory(spec({ dataset: '/nonexistent/x.jsonl' })), /data\.dataset: cannot read/);
  });

  it('validates the data spec naming the field', () => {
    assert.throws(() => new RequestFactory(spec({ sharedPrefixTokens: -1 })), /data\.sharedPrefixTokens/);
    assert.throws(() => new RequestFactory(spec({ outputTokens: { kind: 'fixed', value: 0 } })), /data\.outputTokens/);
  });
});
