import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeSimOptions, parseSimOptions, SimOptionsError } from '../../../runner/sim/options.ts';

describe('parseSimOptions', () => {
  it('applies the documented defaults', () => {
    const options = parseSimOptions({});
    assert.equal(options.host, '127.0.0.1');
    assert.equal(options.port, 8000);
    assert.deepEqual(options.models, ['mistralai/Mistral-7B-Instruct-v0.3']);
    assert.equal(options.ttftMs, 50);
    assert.equal(options.itlMs, 10);
    assert.equal(options.ttftJitterMs, 0);
    assert.equal(options.itlJitterMs, 0);
    assert.equal(options.prefillMicrosPerToken, 0);
    assert.equal(options.maxNumSeqs, 256);
    assert.equal(options.tokensPerChunk, 1);
    assert.equal(options.workers, 1);
    assert.equal(options.tickMs, 1);
    assert.equal(options.faultHeader, true);
    assert.deepEqual(options.faults, []);
    assert.equal(options.apiKey, undefined);
  });

  it('accepts several models and fault rules as text or objects', () => {
    const options = parseSimOptions({
      model: ['a', 'b'],
      faults: ['status=503@p=0.5', { fault: { kind: 'reset', afterTokens: 2 }, every: 4 }],
    });
    assert.deepEqual(options.models, ['a', 'b']);
    assert.deepEqual(options.faults, [
      { fault: { kind: 'status', status: 503, retryAfterSeconds: 1 }, probability: 0.5 },
      { fault: { kind: 'reset', afterTokens: 2 }, every: 4 },
    ]);
  });

  it('names each bad field and what was expected', () => {
    const error = (input: unknown) => {
      try {
        parseSimOptions(input);
      } catch (caught) {
        assert.ok(caught instanceof SimOptionsError);
        return caught.message;
      }
      assert.fail('expected a SimOptionsError');
    };
    assert.match(error({ ttftMs: -1 }), /ttftMs: Too small/);
    assert.match(error({ port: 70000 }), /port: Too big/);
    assert.match(error({ maxNumSeqs: 1.5 }), /maxNumSeqs: .*int/i);
    assert.match(error({ ttftJitterMs: 60 }), /ttftJitterMs: must not exceed ttftMs/);
    assert.match(error({ eosMinTokens: 10, eosMaxTokens: 5 }), /eosMaxTokens: must be >= eosMinTokens/);
    assert.match(error({ faults: ['explode'] }), /faults\.0: unknown fault "explode"/);
    assert.match(error({ colour: 'red' }), /Unrecognized key: "colour"/);
  });
});

describe('describeSimOptions', () => {
  it('lists a kebab-case flag with description and default for every option', () => {
    const described = describeSimOptions();
    const byKey = new Map(described.map((option) => [option.key, option]));
    assert.deepEqual(byKey.get('ttftMs'), {
      key: 'ttftMs',
      flag: '--ttft-ms',
      type: 'number',
      description: byKey.get('ttftMs')?.description,
      defaultValue: 50,
    });
    assert.match(byKey.get('ttftMs')?.description ?? '', /default 50/);
    assert.equal(byKey.get('maxNumSeqs')?.flag, '--max-num-seqs');
    assert.equal(byKey.get('maxNumSeqs')?.type, 'integer');
    assert.equal(byKey.get('faults')?.type, 'string[]');
    assert.equal(byKey.get('model')?.type, 'string[]');
    assert.equal(byKey.get('faultHeader')?.type, 'boolean');
    for (const option of described) assert.ok(option.description.length > 0, `${option.key} has no description`);
  });
});
