/**
 * SLO evaluation on a run summary (measured window only). Each threshold is named by its `spec.slo` field
 * so the operator and the report speak the same names. A threshold whose value could not be measured (e.g.
 * TTFT p95 with no successful request) counts as breached: a run that measured nothing has not met an SLO.
 */
import type { SloSpec } from '../config/plan.ts';
import type { RunSummary } from '../stats/index.ts';
import { formatMs, formatNumber } from './format.ts';

export interface ThresholdOutcome {
  /** The spec.slo field, e.g. `ttftP95Milliseconds`. */
  name: string;
  /** The limit and the measured value in the threshold's own unit (ms, percent, per second). */
  limit: number;
  observed: number | null;
  /** Display forms, e.g. "500ms" / "612.3ms". */
  limitText: string;
  observedText: string;
  met: boolean;
}

type Rule = {
  name: string;
  limit: (slo: SloSpec) => number | undefined;
  observe: (s: RunSummary) => number;
  kind: 'max' | 'min';
  format: (v: number) => string;
};

const ms = (v: number) => formatMs(v);
const pct = (v: number) => `${formatNumber(v, 2)}%`;
const perSecond = (v: number) => `${formatNumber(v, 2)}/s`;

const rules: Rule[] = [
  {
    name: 'ttftP95Milliseconds',
    limit: (s) => s.ttftP95Ms,
    observe: (s) => s.latency.ttft.p95 * 1000,
    kind: 'max',
    format: ms,
  },
  {
    name: 'ttftP99Milliseconds',
    limit: (s) => s.ttftP99Ms,
    observe: (s) => s.latency.ttft.p99 * 1000,
    kind: 'max',
    format: ms,
  },
  {
    name: 'tpotP95Milliseconds',
    limit: (s) => s.tpotP95Ms,
    observe: (s) => s.latency.tpot.p95 * 1000,
    kind: 'max',
    format: ms,
  },
  {
    name: 'tpotP99Milliseconds',
    limit: (s) => s.tpotP99Ms,
    observe: (s) => s.latency.tpot.p99 * 1000,
    kind: 'max',
    format: ms,
  },
  {
    name: 'itlP95Milliseconds',
    limit: (s) => s.itlP95Ms,
    observe: (s) => s.latency.itl.p95 * 1000,
    kind: 'max',
    format: ms,
  },
  {
    name: 'e2eP95Milliseconds',
    limit: (s) => s.e2eP95Ms,
    observe: (s) => s.latency.e2e.p95 * 1000,
    kind: 'max',
    format: ms,
  },
  {
    name: 'e2eP99Milliseconds',
    limit: (s) => s.e2eP99Ms,
    observe: (s) => s.latency.e2e.p99 * 1000,
    kind: 'max',
    format: ms,
  },
  {
    name: 'maxErrorRatePercent',
    limit: (s) => s.maxErrorRatePercent,
    observe: (s) => s.rates.errorRatio * 100,
    kind: 'max',
    format: pct,
  },
  {
    name: 'minRequestsPerSecond',
    limit: (s) => s.minRequestsPerSecond,
    observe: (s) => s.rates.requestsPerSecond,
    kind: 'min',
    format: perSecond,
  },
  {
    name: 'minOutputTokensPerSecond',
    limit: (s) => s.minOutputTokensPerSecond,
    observe: (s) => s.rates.outputTokensPerSecond,
    kind: 'min',
    format: perSecond,
  },
  {
    name: 'minGoodputPercent',
    limit: (s) => s.minGoodputPercent,
    observe: (s) => s.rates.goodputRatio * 100,
    kind: 'min',
    format: pct,
  },
];

export function evaluateSlo(slo: SloSpec, summary: RunSummary): ThresholdOutcome[] {
  const out: ThresholdOutcome[] = [];
  for (const rule of rules) {
    const limit = rule.limit(slo);
    if (limit === undefined) continue;
    const value = rule.observe(summary);
    const measured = Number.isFinite(value);
    const met = measured && (rule.kind === 'max' ? value <= limit : value >= limit);
    out.push({
      name: rule.name,
      limit,
      observed: measured ? value : null,
      limitText: rule.format(limit),
      observedText: measured ? rule.format(value) : 'not measured',
      met,
    });
  }
  return out;
}
