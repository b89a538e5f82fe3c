/**
 * The comparison model every output renders: one row per metric, one value per input, and which values are
 * best. Pure.
 */
import { formatInt, formatMs, formatNumber } from '../report/format.ts';
import type { GoodputLimits } from '../stats/index.ts';
import type { CompareInput, InputMetrics, LatencyKey } from './input.ts';

export type Better = 'lower' | 'higher';
export type Unit = 'seconds' | 'per-second' | 'ratio' | 'count';

export interface RowSpec {
  id: string;
  label: string;
  unit: Unit;
  /** null: not ranked (e.g. request counts, which depend on the test's length). */
  better: Better | null;
  value(m: InputMetrics): number;
  format(m: InputMetrics): string;
}

export interface ComparisonRow {
  id: string;
  label: string;
  unit: Unit;
  better: Better | null;
  /** NaN when the input did not measure it. */
  values: number[];
  display: string[];
  best: boolean[];
}

export interface Comparison {
  inputs: CompareInput[];
  rows: ComparisonRow[];
  /** Things the reader must know to read the table right (differing goodput limits, ...). */
  notes: string[];
}

const latencyLabels: Record<LatencyKey, string> = { ttft: 'TTFT', tpot: 'TPOT', itl: 'ITL', e2e: 'E2E' };
const percentiles = ['p50', 'p95', 'p99'] as const;

const percent = (ratio: number) => (Number.isFinite(ratio) ? `${formatNumber(ratio * 100, 2)}%` : '-');

function latencyRows(): RowSpec[] {
  const rows: RowSpec[] = [];
  for (const key of ['ttft', 'tpot', 'itl', 'e2e'] as const) {
    for (const p of percentiles) {
      rows.push({
        id: `${key}.${p}`,
        label: `${latencyLabels[key]} ${p}`,
        unit: 'seconds',
        better: 'lower',
        value: (m) => m.latency[key][p],
        format: (m) => formatMs(m.latency[key][p] * 1000),
      });
    }
  }
  return rows;
}

const throughputRows: RowSpec[] = [
  {
    id: 'requestsPerSecond',
    label: 'req/s',
    unit: 'per-second',
    better: 'higher',
    value: (m) => m.requestsPerSecond,
    format: (m) => formatNumber(m.requestsPerSecond, 2),
  },
  {
    id: 'outputTokensPerSecond',
    label: 'output tok/s',
    unit: 'per-second',
    better: 'higher',
    value: (m) => m.outputTokensPerSecond,
    format: (m) => formatNumber(m.outputTokensPerSecond, 1),
  },
  {
    id: 'requests',
    label: 'requests',
    unit: 'count',
    better: null,
    value: (m) => m.requests.completed,
    format: (m) => formatInt(m.requests.completed),
  },
  {
    id: 'errors',
    label: 'errors',
    unit: 'ratio',
    better: 'lower',
    value: (m) => m.errorRatio,
    format: (m) => `${formatInt(m.requests.failed)} (${percent(m.errorRatio)})`,
  },
];

const goodputRows: RowSpec[] = [
  {
    id: 'goodputPerSecond',
    label: 'goodput req/s',
    unit: 'per-second',
    better: 'higher',
    value: (m) => m.goodput?.perSecond ?? Number.NaN,
    format: (m) => (m.goodput ? formatNumber(m.goodput.perSecond, 2) : '-'),
  },
  {
    id: 'goodputRatio',
    label: 'goodput %',
    unit: 'ratio',
    better: 'higher',
    value: (m) => m.goodput?.ratio ?? Number.NaN,
    format: (m) => (m.goodput ? percent(m.goodput.ratio) : '-'),
  },
];

/**
 * Which values are best: the lowest or highest finite value (ties all marked). Nothing is marked when fewer
 * than two inputs measured the row or when every measured value is equal: there is nothing to choose.
 */
export function markBest(values: readonly number[], better: Better | null): boolean[] {
  const finite = values.filter((v) => Number.isFinite(v));
  if (better === null || finite.length < 2) return values.map(() => false);
  const target = better === 'lower' ? Math.min(...finite) : Math.max(...finite);
  if (finite.every((v) => v === target)) return values.map(() => false);
  return values.map((v) => v === target);
}

export function describeGoodputLimits(limits: GoodputLimits | undefined): string {
  if (!limits) return 'none';
  const parts: string[] = [];
  if (limits.ttftSeconds !== undefined) parts.push(`TTFT ≤ ${formatMs(limits.ttftSeconds * 1000)}`);
  if (limits.tpotSeconds !== undefined) parts.push(`TPOT ≤ ${formatMs(limits.tpotSeconds * 1000)}`);
  if (limits.e2eSeconds !== undefined) parts.push(`E2E ≤ ${formatMs(limits.e2eSeconds * 1000)}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

export function buildComparison(inputs: CompareInput[]): Comparison {
  const notes: string[] = [];
  const specs = [...latencyRows(), ...throughputRows];
  const withGoodput = inputs.filter((i) => i.metrics.goodput !== null);
  let goodputRanked = true;
  if (withGoodput.length > 0) {
    const described = new Set(
      withGoodput.filter((i) => i.kind !== 'loadtest-status').map((i) => describeGoodputLimits(i.goodputLimits)),
    );
    if (described.size > 1) {
      goodputRanked = false;
      notes.push(
        `goodput is not ranked: the runs used different goodput limits (${withGoodput
          .map((i) => `${i.name}: ${describeGoodputLimits(i.goodputLimits)}`)
          .join('; ')})`,
      );
    } else if (described.size === 1) {
      notes.push(`goodput limits: ${[...described][0]}`);
    }
    specs.push(...goodputRows.map((r) => (goodputRanked ? r : { ...r, better: null })));
  }
  const swept = inputs.filter((i) => i.steps.length > 0).map((i) => i.name);
  if (swept.length > 0) {
    notes.push(
      `${swept.join(', ')}: ran ${swept.length > 1 ? 'several steps each' : 'several steps'} (sweep); the table ` +
        'covers all steps together, the HTML report plots each step',
    );
  }
  const rows = specs.map((spec): ComparisonRow => {
    const values = inputs.map((i) => spec.value(i.metrics));
    return {
      id: spec.id,
      label: spec.label,
      unit: spec.unit,
      better: spec.better,
      values,
      display: inputs.map((i) => spec.format(i.metrics)),
      best: markBest(values, spec.better),
    };
  });
  return { inputs, rows, notes };
}
