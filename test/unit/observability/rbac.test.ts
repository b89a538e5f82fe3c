/**
 * The ObservabilityStack controller's RBAC: Secrets by name only. RBAC cannot limit list/watch to a label
 * selector, so either verb would let the operator read every Secret in the cluster (operator/observability/rbac.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { observabilityStackPolicyRules } from '../../../operator/observability/rbac.ts';
import { operatorRbacRules } from '../../../operator/rbac.ts';

const secretVerbs = (rules: readonly { apiGroups: string[]; resources: string[]; verbs: string[] }[]) =>
  [
    ...new Set(
      rules
        .filter(
          (rule) =>
            rule.apiGroups.some((group) => group === '' || group === '*') &&
            rule.resources.some((resource) => resource === 'secrets' || resource === '*'),
        )
        .flatMap((rule) => rule.verbs),
    ),
  ].sort();

describe('ObservabilityStack RBAC', () => {
  it('gets, applies and deletes Secrets by name, and never lists or watches them', () => {
    assert.deepEqual(secretVerbs(observabilityStackPolicyRules), ['create', 'delete', 'get', 'patch']);
  });

  it('leaves the whole operator without list or watch on Secrets (with the LoadTest rules)', () => {
    const { watched, cluster } = operatorRbacRules();
    const verbs = secretVerbs([...watched, ...cluster]);
    assert.ok(!verbs.includes('list') && !verbs.includes('watch') && !verbs.includes('*'), verbs.join(','));
  });
});
