import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FaultPicker, parseFault, parseFaultRule } from '../../../runner/sim/faults.ts';

describe('parseFault', () => {
  it('parses every fault kind', () => {
    assert.deepEqual(parseFault('status=503'), { kind: 'status', status: 503, retryAfterSeconds: 1 });
    assert.deepEqual(parseFault('status=429,retry-after=7'), { kind: 'status', status: 429, retryAfterSeconds: 7 });
    assert.deepEqual(parseFault('reset-after=5'), { kind: 'reset', afterTokens: 5 });
    assert.deepEqual(parseFault(' stall-after=0 '), { kind: 'stall', afterTokens: 0 });
    assert.deepEqual(parseFault('no-headers'), { kind: 'no-headers' });
    assert.deepEqual(parseFault('malformed-json-after=2'), { kind: 'malformed-json', afterTokens: 2 });
    assert.deepEqual(parseFault('malformed-sse-after=3'), { kind: 'malformed-sse', afterTokens: 3 });
  });

  it('rejects bad input with a message naming the problem', () => {
    assert.throws(() => parseFault('status=200'), /status must be an HTTP error status 400\.\.599/);
    assert.throws(() => parseFault('status=abc'), /status must be a non-negative integer/);
    assert.throws(() => parseFault('reset-after=-1'), /reset-after must be a non-negative integer/);
    assert.throws(() => parseFault('reset-after'), /reset-after must be a non-negative integer/);
    assert.throws(() => parseFault('explode'), /unknown fault "explode"/);
    assert.throws(() => parseFault('status=503,colour=red'), /unknown option "colour"/);
    assert.throws(() => parseFault('no-headers=1'), /no-headers takes no value/);
  });
});

describe('parseFaultRule', () => {
  it('parses selectors', () => {
    assert.deepEqual(parseFaultRule('reset-after=5@every=10'), {
      fault: { kind: 'reset', afterTokens: 5 },
      every: 10,
    });
    assert.deepEqual(parseFaultRule('status=503@p=0.25'), {
      fault: { kind: 'status', status: 503, retryAfterSeconds: 1 },
      probability: 0.25,
    });
    assert.deepEqual(parseFaultRule('no-headers'), { fault: { kind: 'no-headers' } });
  });

  it('rejects bad selectors', () => {
    assert.throws(() => parseFaultRule('no-headers@every=0'), /every must be >= 1/);
    assert.throws(() => parseFaultRule('no-headers@p=2'), /p must be a probability/);
    assert.throws(() => parseFaultRule('no-headers@p='), /p must be a probability/);
    assert.throws(() => parseFaultRule('no-headers@sometimes'), /unknown fault selector/);
  });
});

describe('FaultPicker', () => {
  it('hits exactly every Nth request', () => {
    const picker = new FaultPicker([parseFaultRule('status=500@every=3')], 1);
    const hits = Array.from({ length: 9 }, () => picker.next()?.kind ?? null);
    assert.deepEqual(hits, [null, null, 'status', null, null, 'status', null, null, 'status']);
  });

  it('takes the first rule that hits', () => {
    const picker = new FaultPicker([parseFaultRule('status=500@every=2'), parseFaultRule('reset-after=1')], 1);
    assert.deepEqual(
      Array.from({ length: 4 }, () => picker.next()?.kind),
      ['reset', 'status', 'reset', 'status'],
    );
  });

  it('hits with the configured probability, repeatably for a seed', () => {
    const draw = (seed: number) => {
      const picker = new FaultPicker([parseFaultRule('status=503@p=0.1')], seed);
      return Array.from({ length: 20_000 }, () => picker.next() !== undefined);
    };
    const first = draw(5);
    assert.deepEqual(draw(5), first);
    const rate = first.filter(Boolean).length / first.length;
    // Binomial standard error sqrt(0.1 * 0.9 / 20000) ~ 0.0021; allow 5 sigma.
    assert.ok(Math.abs(rate - 0.1) < 0.011, `rate ${rate}`);
    assert.equal(new FaultPicker([parseFaultRule('status=503@p=0')], 1).next(), undefined);
  });
});
