import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Condition,
  formatDecimal,
  formatMicroseconds,
  formatPercent,
  isFinishedPhase,
  LoadTestStatus,
  ObservabilityStackStatus,
  phaseFromConditions,
} from '../../../api/index.ts';
import { fullLoadTestStatus, fullObservabilityStackStatus } from './cases.ts';

type Status = Condition['status'];

function conditions(entries: Record<string, Status>): Pick<Condition, 'type' | 'status'>[] {
  return Object.entries(entries).map(([type, status]) => ({ type, status }));
}

describe('phaseFromConditions', () => {
  const table: [string, Record<string, Status>, string][] = [
    ['no conditions yet', {}, 'Pending'],
    ['not accepted (e.g. a missing Secret)', { Accepted: 'False' }, 'Pending'],
    ['accepted, runners starting', { Accepted: 'True', RunnersReady: 'Unknown', Succeeded: 'Unknown' }, 'Starting'],
    ['runners ready, load running', { Accepted: 'True', RunnersReady: 'True', Succeeded: 'Unknown' }, 'Running'],
    [
      'completed within SLOs',
      { Accepted: 'True', RunnersReady: 'True', Succeeded: 'True', Failed: 'False' },
      'Succeeded',
    ],
    [
      'completed, thresholds breached',
      { Accepted: 'True', RunnersReady: 'True', Succeeded: 'False', Failed: 'False' },
      'ThresholdsBreached',
    ],
    ['failed while running', { Accepted: 'True', RunnersReady: 'True', Succeeded: 'False', Failed: 'True' }, 'Failed'],
    ['failed before starting', { Accepted: 'True', Failed: 'True' }, 'Failed'],
  ];
  for (const [name, entries, phase] of table) {
    it(`${name} → ${phase}`, () => assert.equal(phaseFromConditions(conditions(entries)), phase));
  }

  it('treats undefined like an empty list', () => assert.equal(phaseFromConditions(undefined), 'Pending'));

  it('knows which phases are final', () => {
    assert.deepEqual(
      (['Pending', 'Starting', 'Running', 'Succeeded', 'ThresholdsBreached', 'Failed'] as const).filter(
        isFinishedPhase,
      ),
      ['Succeeded', 'ThresholdsBreached', 'Failed'],
    );
  });
});

describe('status number formatting', () => {
  it('formats latencies with a unit and about three significant digits', () => {
    assert.equal(formatMicroseconds(0), '0µs');
    assert.equal(formatMicroseconds(850), '850µs');
    assert.equal(formatMicroseconds(1_000), '1ms');
    assert.equal(formatMicroseconds(12_345), '12.3ms');
    assert.equal(formatMicroseconds(123_456), '123ms');
    assert.equal(formatMicroseconds(1_523_000), '1.52s');
    assert.equal(formatMicroseconds(75_340_000), '75.3s');
    assert.equal(formatMicroseconds(999.6), '1ms');
    assert.equal(formatMicroseconds(99_960), '100ms');
    assert.equal(formatMicroseconds(999_999), '1s');
    assert.equal(formatMicroseconds(9_999_000), '10s');
    assert.throws(() => formatMicroseconds(-1), RangeError);
  });

  it('formats rates and percentages as decimal strings', () => {
    assert.equal(formatDecimal(12.3456), '12.35');
    assert.equal(formatDecimal(1234.56), '1234.6');
    assert.equal(formatDecimal(0.1254), '0.125');
    assert.equal(formatDecimal(10), '10');
    assert.equal(formatPercent(0.42), '42%');
    assert.equal(formatPercent(0.005), '0.5%');
    assert.equal(formatPercent(0), '0%');
    assert.equal(formatPercent(1), '100%');
    assert.equal(formatPercent(0.99996), '99.99%');
    assert.equal(formatPercent(0.9995), '99.95%');
    assert.equal(formatPercent(0.975), '97.5%');
  });

  it('a status built with them validates', () => {
    const status = {
      observedGeneration: 1,
      phase: 'Succeeded',
      conditions: [
        {
          type: 'Succeeded',
          status: 'True',
          reason: 'ThresholdsMet',
          message: '',
          lastTransitionTime: '2025-01-31T12:00:00Z',
        },
      ],
      progress: { requestsCompleted: 120, percent: formatPercent(1) },
      summary: {
        requests: { total: 120, succeeded: 120, failed: 0 },
        ttft: { samples: 120, p95: formatMicroseconds(123_456), microseconds: { p95: 123_456 } },
        throughput: { requestsPerSecond: formatDecimal(2.0004), outputTokensPerSecond: formatDecimal(255.9) },
        errors: { total: 0, byClass: {} },
      },
      reportRef: { name: 'quickstart-report', key: 'report.json' },
    };
    const result = LoadTestStatus.safeParse(status);
    assert.ok(result.success, result.success ? '' : JSON.stringify(result.error.issues));
  });
});

describe('full status fixtures', () => {
  it('validate and survive parsing unchanged', () => {
    assert.deepEqual(LoadTestStatus.parse(fullLoadTestStatus()), fullLoadTestStatus());
    assert.deepEqual(ObservabilityStackStatus.parse(fullObservabilityStackStatus()), fullObservabilityStackStatus());
  });
});
