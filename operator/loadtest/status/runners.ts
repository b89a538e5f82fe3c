/** `status.runners` and the result part of status (summary, per-target summaries, thresholds). */
import type { LoadTest, LoadTestStatus, ThresholdResult } from '../../../api/loadtest.ts';
import type { Pod } from '../desired/kube-types.ts';
import { expectedRunners } from '../desired/plan.ts';
import { isPodTerminal, podsByIndex, runnerContainer } from './pods.ts';
import type { MergedResults } from './results.ts';
import { readyRunners } from './start.ts';
import { summarize } from './summary.ts';
import { evaluateThresholds } from './thresholds.ts';

export type RunnerCounts = NonNullable<LoadTestStatus['runners']>;

/** Desired from the spec; the rest from the newest pod of each index and who reported ready. */
export function runnerCounts(lt: Pick<LoadTest, 'spec'>, pods: readonly Pod[], results?: MergedResults): RunnerCounts {
  const byIndex = podsByIndex(pods);
  let active = 0;
  let succeeded = 0;
  let failed = 0;
  for (const pod of byIndex.values()) {
    const phase = pod.status?.phase;
    if (phase === 'Succeeded') succeeded++;
    else if (phase === 'Failed') failed++;
    else if (!isPodTerminal(pod) && runnerContainer(pod)?.state?.running) active++;
  }
  return {
    desired: expectedRunners(lt).count,
    ready: readyRunners({ pods, ...(results ? { results } : {}) }).size,
    active,
    succeeded,
    failed,
  };
}

export interface ResultStatus {
  summary: NonNullable<LoadTestStatus['summary']>;
  /** Only with more than one target. */
  targets?: NonNullable<LoadTestStatus['targets']>;
  thresholds: ThresholdResult[];
}

export function resultStatus(lt: Pick<LoadTest, 'spec'>, results: MergedResults): ResultStatus {
  const thresholds = evaluateThresholds(lt.spec.targets.length > 1 ? results.byTarget : results.merged, lt.spec.slo);
  return {
    summary: summarize(results.merged),
    ...(lt.spec.targets.length > 1
      ? { targets: [...results.byTarget].map(([name, stats]) => ({ name, summary: summarize(stats) })) }
      : {}),
    thresholds,
  };
}
