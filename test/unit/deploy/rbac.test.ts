/**
 * The operator's RBAC: deploy/ and the chart are generated from operator/rbac.ts and up to date, every rule says
 * why, scopes are split right, and the operator holds everything the runner Role it creates grants (RBAC refuses
 * to let anyone create a Role with more than they hold).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { renderRunnerRbac } from '../../../operator/loadtest/desired/index.ts';
import { loadTestPolicyRules } from '../../../operator/loadtest/rbac.ts';
import { operatorRbacRules, renderRbacManifests, rulesYaml } from '../../../operator/rbac.ts';
import type { PolicyRuleWithReason } from '../../../operator/runtime/policy-rule.ts';
import { renderDeployFiles } from '../../../scripts/deploy-files.ts';
import { loadTest } from '../loadtest/fixtures.ts';

const root = join(import.meta.dirname, '..', '..', '..');

/** Whether `rules` allow `verb` on group/resource (with resourceNames: only that name). */
function allows(rules: readonly PolicyRuleWithReason[], group: string, resource: string, verb: string, name?: string) {
  return rules.some(
    (rule) =>
      (rule.apiGroups.includes(group) || rule.apiGroups.includes('*')) &&
      (rule.resources.includes(resource) || rule.resources.includes('*')) &&
      (rule.verbs.includes(verb) || rule.verbs.includes('*')) &&
      (!rule.resourceNames || (name !== undefined && rule.resourceNames.includes(name))),
  );
}

describe('operator RBAC', () => {
  it('deploy/ and the Helm chart are up to date with operator/rbac.ts and crds/ (run npm run generate)', () => {
    for (const [path, content] of renderDeployFiles()) {
      const committed = readFileSync(join(root, path), 'utf8');
      assert.ok(committed === content, `${path} is stale: run npm run generate`);
    }
  });

  it('gives every rule a one-line reason and no wildcards', () => {
    const { watched, cluster, leaderElection } = operatorRbacRules();
    for (const rule of [...watched, ...cluster, ...leaderElection]) {
      assert.ok(rule.why.trim().length > 10 && !rule.why.includes('\n'), `rule on ${rule.resources} has a reason`);
      for (const list of [rule.apiGroups, rule.resources, rule.verbs]) assert.ok(!list.includes('*'));
    }
  });

  it('keeps cluster-scoped resources out of the per-namespace role and leases out of both', () => {
    const { watched, cluster, leaderElection } = operatorRbacRules('my-lease');
    assert.ok(!watched.some((rule) => rule.resources.includes('namespaces')));
    for (const rule of cluster)
      assert.ok(!rule.resources.some((resource) => ['configmaps', 'jobs'].includes(resource)));
    assert.ok(![...watched, ...cluster].some((rule) => rule.resources.includes('leases')));
    assert.ok(allows(leaderElection, 'coordination.k8s.io', 'leases', 'update', 'my-lease'));
    assert.ok(!allows(leaderElection, 'coordination.k8s.io', 'leases', 'update', 'another-lease'));
  });

  it('never lets the operator write pods, exec into them, or touch cluster RBAC', () => {
    const { watched, cluster } = operatorRbacRules();
    const all = [...watched, ...cluster];
    for (const verb of ['create', 'patch', 'update', 'delete']) assert.ok(!allows(all, '', 'pods', verb));
    assert.ok(!allows(all, '', 'pods/exec', 'create'));
    for (const resource of ['clusterroles', 'clusterrolebindings']) {
      assert.ok(!allows(all, 'rbac.authorization.k8s.io', resource, 'create'));
    }
    for (const verb of ['escalate', 'bind', 'impersonate']) {
      assert.ok(!all.some((rule) => rule.verbs.includes(verb)), `no ${verb}`);
    }
  });

  it('holds every permission of the runner Role it creates', () => {
    const lt = loadTest({ parallelism: 3 }, { name: 'nightly' });
    const { role } = renderRunnerRbac(lt);
    for (const rule of role.rules) {
      for (const group of rule.apiGroups) {
        for (const resource of rule.resources) {
          for (const verb of rule.verbs) {
            for (const name of rule.resourceNames ?? [undefined]) {
              assert.ok(
                allows(loadTestPolicyRules, group, resource, verb, name),
                `the operator may ${verb} ${resource} ${name ?? ''} (the runner Role grants it)`,
              );
            }
          }
        }
      }
    }
  });

  it('renders each rule after a # why comment', () => {
    const text = rulesYaml(
      [{ apiGroups: [''], resources: ['pods'], verbs: ['get'], resourceNames: ['a'], why: 'Because.' }],
      2,
    );
    assert.equal(
      text,
      '  # why: Because.\n  - apiGroups: [""]\n    resources: ["pods"]\n    resourceNames: ["a"]\n    verbs: ["get"]',
    );
    const manifests = renderRbacManifests({ namespace: 'ops', name: 'op' });
    assert.match(manifests, /kind: Role\nmetadata:\n {2}name: op-leader-election\n {2}namespace: ops/);
    assert.equal((manifests.match(/# why: /g) ?? []).length, Object.values(operatorRbacRules('op')).flat().length);
  });
});
