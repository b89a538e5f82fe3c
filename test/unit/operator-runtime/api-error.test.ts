import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ApiError,
  apiErrorFrom,
  isAlreadyExists,
  isConflict,
  isGone,
  isNotFound,
  isTransient,
  toApiError,
} from '../../../operator/runtime/api-error.ts';

const invalid = JSON.stringify({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  message: 'LoadTest.loadlm.dev "x" is invalid: spec.parallelism: Invalid value: 0: must be >= 1',
  reason: 'Invalid',
  details: {
    name: 'x',
    kind: 'LoadTest',
    causes: [
      { reason: 'FieldValueInvalid', message: 'Invalid value: 0: must be >= 1', field: 'spec.parallelism' },
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.targets' },
    ],
  },
  code: 422,
});

describe('ApiError', () => {
  it('reads the Status: what was requested, code, reason, message and causes not already in the message', () => {
    const error = apiErrorFrom('PATCH /apis/loadlm.dev/v1alpha1/namespaces/a/loadtests/x', 422, invalid);
    assert.equal(error.status, 422);
    assert.equal(error.reason, 'Invalid');
    assert.equal(
      error.message,
      'PATCH /apis/loadlm.dev/v1alpha1/namespaces/a/loadtests/x: 422 Invalid: LoadTest.loadlm.dev "x" is invalid: ' +
        'spec.parallelism: Invalid value: 0: must be >= 1; spec.targets: Required value',
    );
    assert.equal(error.statusBody?.details?.kind, 'LoadTest');
  });

  it('falls back to the body text, or the HTTP status, when there is no Status', () => {
    assert.equal(apiErrorFrom('GET /x', 502, 'Bad Gateway from proxy').message, 'GET /x: 502: Bad Gateway from proxy');
    assert.equal(apiErrorFrom('GET /x', 503, '').message, 'GET /x: 503: HTTP 503');
  });

  it('maps client-node ApiException (code + body text) and watch errors (statusCode)', () => {
    const fromException = toApiError(
      { code: 409, body: JSON.stringify({ kind: 'Status', reason: 'AlreadyExists', message: 'exists', code: 409 }) },
      'create Job',
    );
    assert.ok(isAlreadyExists(fromException));
    assert.ok(!isConflict(fromException));
    assert.equal(fromException.message, 'create Job: 409 AlreadyExists: exists');
    const fromWatch = toApiError(Object.assign(new Error('Gone'), { statusCode: 410 }), 'watch');
    assert.ok(isGone(fromWatch));
    const network = toApiError(new Error('ECONNREFUSED'), 'list');
    assert.equal(network.status, 0);
    assert.ok(isTransient(network));
    assert.equal(network.message, 'list: ECONNREFUSED');
  });

  it('classifies errors', () => {
    assert.ok(isNotFound(new ApiError('x', 404)));
    assert.ok(isConflict(new ApiError('x', 409, 'Conflict')));
    assert.ok(isGone(new ApiError('x', 500, 'Expired')));
    assert.ok(isTransient(new ApiError('x', 429)));
    assert.ok(isTransient(new ApiError('x', 503)));
    assert.ok(!isTransient(new ApiError('x', 422, 'Invalid')));
    assert.ok(!isNotFound(new Error('404')));
  });
});
