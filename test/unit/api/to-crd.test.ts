import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { intOrString, k8s, StructuralSchemaError, toStructuralSchema, withRules } from '../../../api/index.ts';

describe('toStructuralSchema', () => {
  it('drops additionalProperties: false from strict objects', () => {
    const schema = toStructuralSchema(z.strictObject({ a: z.string().max(3).describe('a') }).describe('root'));
    assert.deepEqual(schema, {
      type: 'object',
      description: 'root',
      required: ['a'],
      properties: { a: { type: 'string', description: 'a', maxLength: 3 } },
    });
  });

  it('turns an integer|string union into x-kubernetes-int-or-string with the bounds on the node', () => {
    const port = intOrString(
      z.int().min(1).max(65535),
      z
        .string()
        .max(15)
        .regex(/^[a-z]+$/),
      'port',
    );
    assert.deepEqual(toStructuralSchema(port.describe('port')), {
      description: 'port',
      anyOf: [{ type: 'integer' }, { type: 'string' }],
      'x-kubernetes-int-or-string': true,
      maxLength: 15,
      maximum: 65535,
      minimum: 1,
      pattern: '^[a-z]+$',
    });
  });

  it('rejects other unions, naming the path', () => {
    const schema = z.object({ choice: z.union([z.string(), z.boolean()]) });
    assert.throws(
      () => toStructuralSchema(schema),
      (error: unknown) => {
        return error instanceof StructuralSchemaError && error.message.startsWith('.choice: unions are not allowed');
      },
    );
  });

  it('rejects nullable fields', () => {
    assert.throws(() => toStructuralSchema(z.object({ maybe: z.string().nullable() })), /\.maybe: nullable/);
  });

  it('marks free-form values with x-kubernetes-preserve-unknown-fields', () => {
    const schema = toStructuralSchema(z.object({ anything: z.unknown().describe('free') }));
    assert.deepEqual(schema.properties?.anything, {
      description: 'free',
      'x-kubernetes-preserve-unknown-fields': true,
    });
  });

  it('maps records to additionalProperties and keeps extension metadata', () => {
    const labels = k8s(z.record(z.string().max(10), z.string().max(5)), { maxProperties: 4 });
    const schema = toStructuralSchema(z.object({ labels }));
    assert.deepEqual(schema.properties?.labels, {
      type: 'object',
      maxProperties: 4,
      additionalProperties: { type: 'string', maxLength: 5 },
    });
  });

  it('replaces z.int() safe-integer bounds with a format', () => {
    const schema = toStructuralSchema(z.object({ big: z.int().min(0), small: z.int().min(0).max(10) }));
    assert.deepEqual(schema.properties?.big, { type: 'integer', format: 'int64', minimum: 0 });
    assert.deepEqual(schema.properties?.small, { type: 'integer', format: 'int32', maximum: 10, minimum: 0 });
  });

  it('drops the regex zod adds to date-time strings', () => {
    const schema = toStructuralSchema(z.object({ at: z.iso.datetime() }));
    assert.deepEqual(schema.properties?.at, { type: 'string', format: 'date-time' });
  });

  it('keeps rules through describe() and optional(), and accumulates them over several withRules calls', () => {
    const base = withRules(z.object({ a: z.int().optional(), b: z.int().optional() }), [
      { rule: 'has(self.a)', message: 'a is required', check: (self) => self.a !== undefined },
    ]);
    const both = withRules(base, [
      { rule: 'has(self.b)', message: 'b is required', check: (self) => self.b !== undefined },
    ]);
    const schema = toStructuralSchema(z.object({ field: both.describe('described').optional() }));
    assert.deepEqual(
      schema.properties?.field?.['x-kubernetes-validations']?.map((rule) => rule.rule),
      ['has(self.a)', 'has(self.b)'],
    );
    const result = both.safeParse({});
    assert.equal(result.success, false);
    assert.deepEqual(result.success ? [] : result.error.issues.map((issue) => issue.message), [
      'a is required',
      'b is required',
    ]);
  });

  it('refuses a rule without a TypeScript twin unless it is a transition rule', () => {
    assert.throws(() => withRules(z.object({}), [{ rule: 'true', message: 'never' }]), /needs a TypeScript check/);
    assert.doesNotThrow(() => withRules(z.object({}), [{ rule: 'self == oldSelf', message: 'immutable' }]));
  });
});
