import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conditionChanges, type PartOutcomes, stackConditions } from '../../../operator/observability/conditions.ts';

const ok = (reason: string) => ({ ok: true, reason, message: `${reason} message` });
const parts = (overrides: Partial<PartOutcomes> = {}): PartOutcomes => ({
  serviceMonitors: ok('Selected'),
  alerts: ok('Selected'),
  grafana: ok('Provisioned'),
  ...overrides,
});

describe('ObservabilityStack conditions', () => {
  it('is Ready when every part is', () => {
    const conditions = stackConditions(undefined, parts(), 3, Date.parse('2026-01-01T00:00:00Z'));
    assert.deepEqual(
      conditions.map((condition) => [condition.type, condition.status, condition.reason, condition.observedGeneration]),
      [
        ['Ready', 'True', 'Ready', 3],
        ['ServiceMonitorsReady', 'True', 'Selected', 3],
        ['AlertsReady', 'True', 'Selected', 3],
        ['GrafanaReady', 'True', 'Provisioned', 3],
      ],
    );
  });

  it("carries the first failing part's reason into Ready", () => {
    const conditions = stackConditions(
      undefined,
      parts({ grafana: { ok: false, reason: 'GrafanaAuthFailed', message: 'HTTP 401' } }),
      1,
      0,
    );
    const ready = conditions.find((condition) => condition.type === 'Ready');
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'GrafanaAuthFailed');
    assert.equal(ready?.message, 'GrafanaReady: HTTP 401');
  });

  it('keeps lastTransitionTime and reports no change when nothing changed', () => {
    const first = stackConditions(undefined, parts(), 1, Date.parse('2026-01-01T00:00:00Z'));
    const second = stackConditions(first, parts(), 1, Date.parse('2026-01-01T01:00:00Z'));
    assert.deepEqual(second, first);
    assert.deepEqual(conditionChanges(first, second), []);
  });

  it('turns each status or reason change into one Event (Warning when False)', () => {
    const first = stackConditions(undefined, parts(), 1, 0);
    const failing = stackConditions(
      first,
      parts({ serviceMonitors: { ok: false, reason: 'NoMatchingPrometheus', message: 'no Prometheus selects them' } }),
      1,
      1000,
    );
    assert.deepEqual(
      conditionChanges(first, failing).map((change) => [change.type, change.eventType, change.reason]),
      [
        ['Ready', 'Warning', 'NoMatchingPrometheus'],
        ['ServiceMonitorsReady', 'Warning', 'NoMatchingPrometheus'],
      ],
    );
  });
});
