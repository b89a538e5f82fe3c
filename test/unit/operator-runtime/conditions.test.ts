import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Condition,
  conditionsEqual,
  findCondition,
  hasCondition,
  isConditionFalse,
  isConditionTrue,
  removeCondition,
  rfc3339,
  setCondition,
  setConditions,
} from '../../../operator/runtime/conditions.ts';

const t0 = Date.UTC(2025, 0, 31, 12, 0, 0, 123);
const t1 = t0 + 60_000;

describe('conditions', () => {
  it('rfc3339 drops milliseconds like metav1.Time', () => {
    assert.equal(rfc3339(t0), '2025-01-31T12:00:00Z');
  });

  it('adds a new condition with lastTransitionTime now and an empty message by default', () => {
    const list = setCondition(undefined, { type: 'Accepted', status: 'Unknown', reason: 'Pending' }, t0);
    assert.deepEqual(list, [
      {
        type: 'Accepted',
        status: 'Unknown',
        reason: 'Pending',
        message: '',
        lastTransitionTime: '2025-01-31T12:00:00Z',
      },
    ]);
  });

  it('keeps lastTransitionTime when the status does not change, even if reason and message do', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'Starting', message: 'a' }, t0);
    const second = setCondition(first, { type: 'Ready', status: 'False', reason: 'Waiting', message: 'b' }, t1);
    assert.equal(second[0]?.lastTransitionTime, '2025-01-31T12:00:00Z');
    assert.equal(second[0]?.reason, 'Waiting');
    assert.equal(second[0]?.message, 'b');
  });

  it('moves lastTransitionTime when the status changes', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'Starting' }, t0);
    const second = setCondition(first, { type: 'Ready', status: 'True', reason: 'Ready' }, t1);
    assert.equal(second[0]?.lastTransitionTime, '2025-01-31T12:01:00Z');
  });

  it('re-setting the same condition gives an equal list (a steady state writes nothing)', () => {
    const first = setCondition([], { type: 'Ready', status: 'True', reason: 'Ready', observedGeneration: 3 }, t0);
    const again = setCondition(first, { type: 'Ready', status: 'True', reason: 'Ready', observedGeneration: 3 }, t1);
    assert.deepEqual(again, first);
    assert.ok(conditionsEqual(again, first));
  });

  it('does not mutate its input and keeps the order of other conditions', () => {
    const input: Condition[] = [
      { type: 'A', status: 'True', reason: 'X', message: '', lastTransitionTime: '2025-01-01T00:00:00Z' },
      { type: 'B', status: 'True', reason: 'X', message: '', lastTransitionTime: '2025-01-01T00:00:00Z' },
    ];
    const frozen = Object.freeze(input.map((condition) => Object.freeze({ ...condition })));
    const output = setCondition(frozen, { type: 'A', status: 'False', reason: 'Y' }, t0);
    assert.deepEqual(
      output.map((condition) => condition.type),
      ['A', 'B'],
    );
    assert.equal(frozen[0]?.status, 'True');
  });

  it('records observedGeneration and keeps the previous one when not given', () => {
    const first = setCondition([], { type: 'A', status: 'True', reason: 'X', observedGeneration: 2 }, t0);
    assert.equal(first[0]?.observedGeneration, 2);
    const second = setCondition(first, { type: 'A', status: 'True', reason: 'X' }, t1);
    assert.equal(second[0]?.observedGeneration, 2);
    const third = setCondition(second, { type: 'A', status: 'True', reason: 'X', observedGeneration: 5 }, t1);
    assert.equal(third[0]?.observedGeneration, 5);
  });

  it('find, isTrue, isFalse, has, remove', () => {
    const list = setConditions(
      [],
      [
        { type: 'Succeeded', status: 'False', reason: 'ThresholdsBreached' },
        { type: 'Failed', status: 'True', reason: 'OOMKilled' },
      ],
      t0,
    );
    assert.equal(findCondition(list, 'Failed')?.reason, 'OOMKilled');
    assert.equal(findCondition(list, 'Missing'), undefined);
    assert.equal(isConditionTrue(list, 'Failed'), true);
    assert.equal(isConditionTrue(list, 'Succeeded'), false);
    assert.equal(isConditionFalse(list, 'Succeeded'), true);
    assert.equal(isConditionFalse(list, 'Missing'), false);
    assert.equal(hasCondition(list, 'Succeeded', 'False', 'ThresholdsBreached'), true);
    assert.equal(hasCondition(list, 'Succeeded', 'False', 'Other'), false);
    assert.deepEqual(
      removeCondition(list, 'Failed').map((condition) => condition.type),
      ['Succeeded'],
    );
    assert.equal(isConditionTrue(undefined, 'Failed'), false);
  });

  it('conditionsEqual ignores order but not content', () => {
    const a = setConditions(
      [],
      [
        { type: 'A', status: 'True', reason: 'X' },
        { type: 'B', status: 'False', reason: 'Y' },
      ],
      t0,
    );
    assert.ok(conditionsEqual(a, [...a].reverse()));
    assert.ok(!conditionsEqual(a, setCondition(a, { type: 'B', status: 'False', reason: 'Z' }, t0)));
    assert.ok(!conditionsEqual(a, a.slice(1)));
  });
});
