import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Prometheus } from '../../../operator/observability/desired/kinds.ts';
import {
  describeSelector,
  needsNamespaceLabels,
  prometheusSelects,
  selectionReport,
  selectorMatches,
} from '../../../operator/observability/selection.ts';

const prometheus = (spec: Prometheus['spec'], namespace = 'monitoring'): Prometheus => ({
  metadata: { name: 'k8s', namespace },
  spec,
});
const ours = { namespace: 'monitoring', labels: { release: 'kps', app: 'loadlm' } };

describe('Prometheus selection', () => {
  it('matches label selectors like the apiserver', () => {
    const labels = { a: '1', b: '2' };
    assert.ok(selectorMatches({}, labels));
    assert.ok(selectorMatches({ matchLabels: { a: '1' } }, labels));
    assert.ok(!selectorMatches({ matchLabels: { a: '2' } }, labels));
    assert.ok(selectorMatches({ matchExpressions: [{ key: 'b', operator: 'In', values: ['2', '3'] }] }, labels));
    assert.ok(!selectorMatches({ matchExpressions: [{ key: 'b', operator: 'NotIn', values: ['2'] }] }, labels));
    assert.ok(selectorMatches({ matchExpressions: [{ key: 'c', operator: 'NotIn', values: ['2'] }] }, labels));
    assert.ok(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, labels));
    assert.ok(!selectorMatches({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, labels));
  });

  it('follows prometheus-operator: a null selector selects nothing, an empty one everything', () => {
    assert.deepEqual(prometheusSelects(prometheus({}), 'serviceMonitor', ours), {
      selected: false,
      why: 'its serviceMonitorSelector is null (selects nothing)',
    });
    assert.ok(prometheusSelects(prometheus({ serviceMonitorSelector: {} }), 'serviceMonitor', ours).selected);
    assert.ok(
      prometheusSelects(prometheus({ ruleSelector: { matchLabels: { release: 'kps' } } }), 'rule', ours).selected,
    );
    const wrong = prometheusSelects(prometheus({ ruleSelector: { matchLabels: { release: 'other' } } }), 'rule', ours);
    assert.equal(wrong.why, 'its ruleSelector {release=other} does not match our labels');
  });

  it('reads a null namespace selector as the Prometheus namespace only, an empty one as all', () => {
    const elsewhere = prometheus({ serviceMonitorSelector: {} }, 'other');
    assert.match(prometheusSelects(elsewhere, 'serviceMonitor', ours).why ?? '', /only namespace other/);
    assert.ok(
      prometheusSelects(
        prometheus({ serviceMonitorSelector: {}, serviceMonitorNamespaceSelector: {} }, 'other'),
        'serviceMonitor',
        ours,
      ).selected,
    );
    const labelled = prometheus(
      { serviceMonitorSelector: {}, serviceMonitorNamespaceSelector: { matchLabels: { team: 'ml' } } },
      'other',
    );
    assert.ok(needsNamespaceLabels(labelled, 'serviceMonitor'));
    assert.ok(!needsNamespaceLabels(labelled, 'rule'));
    assert.ok(prometheusSelects(labelled, 'serviceMonitor', ours, { team: 'ml' }).selected);
    assert.ok(!prometheusSelects(labelled, 'serviceMonitor', ours, { team: 'web' }).selected);
  });

  it('reports which Prometheus selects and why the others do not', () => {
    const report = selectionReport(
      [
        prometheus({ serviceMonitorSelector: { matchLabels: { release: 'kps' } } }),
        {
          metadata: { name: 'other', namespace: 'monitoring' },
          spec: { serviceMonitorSelector: { matchLabels: { release: 'x' } } },
        },
      ],
      'serviceMonitor',
      ours,
    );
    assert.deepEqual(report.selectedBy, ['monitoring/k8s']);
    assert.deepEqual(report.rejections, [
      'Prometheus monitoring/other: its serviceMonitorSelector {release=x} does not match our labels',
    ]);
    assert.equal(
      describeSelector({
        matchExpressions: [
          { key: 'a', operator: 'In', values: ['1', '2'] },
          { key: 'b', operator: 'DoesNotExist' },
        ],
      }),
      '{a in (1,2), !b}',
    );
  });
});
