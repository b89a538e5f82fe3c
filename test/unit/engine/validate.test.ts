import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveEndpoint, validateTarget } from '../../../runner/engine/http.ts';
import type { LoadSpec, TargetSpec } from '../../../runner/engine/types.ts';
import { validateLoad } from '../../../runner/engine/validate.ts';

const target: TargetSpec = {
  url: 'http://127.0.0.1:8000',
  model: 'm',
  api: 'chat',
  stream: true,
  timeouts: { connectMs: 1000, headersMs: 1000, bodyIdleMs: 1000 },
  maxConnections: 10,
};
const load = (over: Partial<LoadSpec>): LoadSpec => ({
  profile: 'constant',
  rate: 10,
  durationSeconds: 10,
  warmupSeconds: 0,
  cooldownSeconds: 0,
  ...over,
});

describe('validateLoad', () => {
  it('accepts sensible specs', () => {
    validateLoad(load({}), target);
    validateLoad(load({ profile: 'concurrent', concurrency: 10, rate: undefined }), target);
    validateLoad(load({ profile: 'throughput', rate: undefined }), target);
    validateLoad(load({ profile: 'synchronous', maxRequests: 5, durationSeconds: undefined }), target);
    validateLoad(load({ profile: 'sweep', sweep: { rates: 3, stepSeconds: 10 }, durationSeconds: undefined }), target);
    validateLoad(load({ stages: [{ durationSeconds: 5, rate: 10, ramp: true }], durationSeconds: undefined }), target);
  });

  const bad: Array<[string, Partial<LoadSpec>, RegExp]> = [
    ['unknown profile', { profile: 'bursty' as LoadSpec['profile'] }, /load\.profile: expected/],
    ['missing rate', { rate: undefined }, /load\.rate: expected a number > 0/],
    ['no end', { durationSeconds: undefined }, /load: set durationSeconds, stages or maxRequests/],
    ['warmup too long', { warmupSeconds: 6, cooldownSeconds: 4 }, /must be shorter than the run duration/],
    [
      'concurrency over the pool',
      { profile: 'concurrent', concurrency: 11 },
      /load\.concurrency: 11 exceeds target\.maxConnections \(10\)/,
    ],
    ['bad share', { share: { index: 3, count: 3 } }, /load\.share\.index: expected an integer in \[0, 3\)/],
    [
      'sweep split',
      { profile: 'sweep', sweep: { rates: 2, stepSeconds: 5 }, share: { index: 0, count: 2 } },
      /a sweep cannot be split/,
    ],
    ['sweep without spec', { profile: 'sweep' }, /load\.sweep: required/],
    ['stages + duration', { stages: [{ durationSeconds: 5, rate: 1 }] }, /not allowed together with load\.stages/],
    [
      'zero-rate stages',
      { stages: [{ durationSeconds: 5, rate: 0 }], durationSeconds: undefined },
      /at least one stage with rate > 0/,
    ],
    [
      'cooldown without duration',
      { durationSeconds: undefined, maxRequests: 5, cooldownSeconds: 1 },
      /cooldownSeconds: needs durationSeconds/,
    ],
  ];
  for (const [name, over, message] of bad) {
    it(`rejects ${name} with an error naming the field`, () => {
      assert.throws(() => validateLoad(load(over), target), message);
    });
  }
});

describe('target validation and endpoint resolution', () => {
  it('resolves base URLs, /v1 bases and full endpoints', () => {
    assert.deepEqual(resolveEndpoint('http://h:8000', 'chat'), {
      origin: 'http://h:8000',
      path: '/v1/chat/completions',
    });
    assert.deepEqual(resolveEndpoint('http://h:8000/v1/', 'completions'), {
      origin: 'http://h:8000',
      path: '/v1/completions',
    });
    assert.deepEqual(resolveEndpoint('https://h/openai/v1/chat/completions?x=1', 'chat'), {
      origin: 'https://h',
      path: '/openai/v1/chat/completions?x=1',
    });
    assert.deepEqual(resolveEndpoint('http://h/prefix', 'chat').path, '/prefix/v1/chat/completions');
  });

  it('rejects bad URLs and mismatches naming target fields', () => {
    assert.throws(() => resolveEndpoint('not a url', 'chat'), /target\.url: expected an absolute http\(s\) URL/);
    assert.throws(() => resolveEndpoint('ftp://h', 'chat'), /target\.url: expected an http or https URL/);
    assert.throws(() => resolveEndpoint('http://h/v1/completions', 'chat'), /does not match target\.api "chat"/);
    assert.throws(() => validateTarget({ ...target, maxConnections: 0 }), /target\.maxConnections/);
    assert.throws(
      () => validateTarget({ ...target, timeouts: { ...target.timeouts, headersMs: 0 } }),
      /target\.timeouts\.headersMs/,
    );
  });
});
