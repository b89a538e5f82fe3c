/**
 * spec.slo thresholds on the merged results → `status.thresholds`. The rules are the runner's own
 * (runner/report/slo.ts: same names, same comparisons, an unmeasurable value counts as breached), applied to
 * the merged histograms instead of one shard's. Every target receives the full load, so with several targets
 * each threshold must hold for each of them; the entry shows the worst target.
 */
import { formatDecimal, formatMicroseconds } from '../../../api/format.ts';
import type { SloThresholds, ThresholdResult } from '../../../api/loadtest.ts';
import { toSloSpec } from '../../../runner/config/to-plan.ts';
import { evaluateSlo, type ThresholdOutcome } from '../../../runner/report/slo.ts';
import { RunStats, summarizeRun } from '../../../runner/stats/index.ts';

export function evaluateThresholds(
  results: RunStats | ReadonlyMap<string, RunStats>,
  slo: SloThresholds | undefined,
): ThresholdResult[] {
  if (!slo) return [];
  const spec = toSloSpec(slo);
  const perTarget: [string | undefined, ThresholdOutcome[]][] =
    results instanceof Map
      ? [...results].map(([name, stats]) => [name, evaluateSlo(spec, summarizeRun(stats))])
      : [[undefined, evaluateSlo(spec, summarizeRun(results as RunStats))]];
  const several = perTarget.length > 1;
  // An empty map (no valid result at all): every threshold is "not measured", hence breached.
  const first = perTarget[0]?.[1] ?? evaluateSlo(spec, summarizeRun(new RunStats()));
  return first.map((outcome, i) => {
    let worst: { target: string | undefined; outcome: ThresholdOutcome } = { target: perTarget[0]?.[0], outcome };
    for (const [target, outcomes] of perTarget) {
      const candidate = outcomes[i];
      if (candidate && worse(candidate, worst.outcome)) worst = { target, outcome: candidate };
    }
    const observed = display(worst.outcome.name, worst.outcome.observed);
    return {
      name: outcome.name,
      limit: display(outcome.name, outcome.limit),
      observed: several && worst.target ? `${observed} (target ${worst.target})`.slice(0, 64) : observed,
      met: perTarget.length > 0 && perTarget.every(([, outcomes]) => outcomes[i]?.met ?? false),
    };
  });
}

/** The condition message for breached thresholds: `ttftP95Milliseconds: 612ms (limit 500ms); ...`. */
export function thresholdsMessage(thresholds: readonly ThresholdResult[]): string {
  const breached = thresholds.filter((threshold) => !threshold.met);
  if (breached.length === 0) return `all ${thresholds.length} thresholds met`;
  return `${breached.length} of ${thresholds.length} thresholds breached: ${breached
    .map((threshold) => `${threshold.name} ${threshold.observed} (limit ${threshold.limit})`)
    .join('; ')}`;
}

const isMinimum = (name: string) => name.startsWith('min');

/** Unmeasured is worst; then the bigger violation of the limit. */
function worse(a: ThresholdOutcome, b: ThresholdOutcome): boolean {
  if (b.observed === null) return false;
  if (a.observed === null) return true;
  return isMinimum(a.name) ? a.observed < b.observed : a.observed > b.observed;
}

/** In the API's formats: `500ms`, `1.5s`, `0.5%`, `12.5/s`. */
function display(name: string, value: number | null): string {
  if (value === null) return 'not measured';
  if (name.endsWith('Milliseconds')) return formatMicroseconds(Math.round(value * 1000));
  if (name.endsWith('Percent')) return `${formatDecimal(value)}%`;
  return `${formatDecimal(value)}/s`;
}
