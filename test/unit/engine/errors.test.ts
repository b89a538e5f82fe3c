import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errors as undiciErrors } from 'undici';
import { ClassifiedError, classifyError, redact } from '../../../runner/engine/errors.ts';

const before = { gotHeaders: false, headersTimeoutMs: 5000, bodyIdleTimeoutMs: 2000 };
const after = { ...before, gotHeaders: true };
const sysError = (code: string) => Object.assign(new Error(`${code} happened`), { code });

describe('classifyError', () => {
  it('maps connection failures to connect', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']) {
      const c = classifyError(sysError(code), before);
      assert.equal(c.errorClass, 'connect', code);
      assert.match(c.message, new RegExp(`cannot connect \\(${code}\\)`));
    }
    assert.equal(classifyError(new undiciErrors.ConnectTimeoutError(), before).errorClass, 'connect');
  });

  it('finds the code on a wrapped cause', () => {
    const wrapped = new Error('fetch failed', { cause: sysError('ECONNREFUSED') });
    assert.equal(classifyError(wrapped, before).errorClass, 'connect');
  });

  it('maps headers and body-idle timeouts to timeout with the limit in the message', () => {
    const h = classifyError(new undiciErrors.HeadersTimeoutError(), before);
    assert.equal(h.errorClass, 'timeout');
    assert.match(h.message, /no response headers within 5000 ms/);
    const b = classifyError(new undiciErrors.BodyTimeoutError(), after);
    assert.equal(b.errorClass, 'timeout');
    assert.match(b.message, /no response data for 2000 ms .*stalled stream/);
  });

  it('maps resets and closes to broken_stream, saying when they happened', () => {
    const mid = classifyError(new undiciErrors.SocketError('other side closed'), after);
    assert.equal(mid.errorClass, 'broken_stream');
    assert.match(mid.message, /connection closed mid-stream \(UND_ERR_SOCKET\)/);
    const early = classifyError(sysError('ECONNRESET'), before);
    assert.equal(early.errorClass, 'broken_stream');
    assert.match(early.message, /before response headers/);
  });

  it('maps invalid HTTP to bad_payload', () => {
    assert.equal(classifyError(sysError('HPE_INVALID_CONSTANT'), before).errorClass, 'bad_payload');
  });

  it('passes already-classified errors through with their status', () => {
    const c = classifyError(new ClassifiedError('http', 'HTTP 404: The model `x` does not exist.', 404), after);
    assert.deepEqual(c, { errorClass: 'http', message: 'HTTP 404: The model `x` does not exist.', httpStatus: 404 });
    assert.equal(classifyError(new ClassifiedError('cancelled', 'bye'), after).errorClass, 'cancelled');
  });

  it('falls back by phase for unknown errors', () => {
    assert.equal(classifyError(new Error('mystery'), before).errorClass, 'connect');
    assert.equal(classifyError(new Error('mystery'), after).errorClass, 'broken_stream');
  });
});

describe('redact', () => {
  it('removes every occurrence of the secret', () => {
    assert.equal(redact('key sk-secret-123 and sk-secret-123', 'sk-secret-123'), 'key *** and ***');
    assert.equal(redact('nothing here', undefined), 'nothing here');
  });
});
