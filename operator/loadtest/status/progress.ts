/**
 * `status.progress` from the runners' partial results (written about every 10 s): requests so far over all
 * phases, seconds since the common start, and a percentage of the planned length (or of maxRequests when only
 * that ends the run). It stays below 100% until the run is over, because the last requests still drain.
 */

import type { LoadTest, LoadTestStatus } from '../../../api/loadtest.ts';
import { rfc3339 } from '../../runtime/conditions.ts';
import { plannedSeconds } from '../desired/plan.ts';
import { type MergedResults, requestsSoFar } from './results.ts';

export type Progress = NonNullable<LoadTestStatus['progress']>;

export interface ProgressInput {
  results: MergedResults | undefined;
  /** The common start time (status.startTime), once set. */
  startAt?: string;
  /** The run is over (all results final or the test ended). */
  finished?: boolean;
}

export function progress(input: ProgressInput, now: Date | number, lt: Pick<LoadTest, 'spec'>): Progress {
  let completed = 0;
  let failed = 0;
  for (const runner of input.results?.runners ?? []) {
    const so = requestsSoFar(runner);
    completed += so.completed;
    failed += so.failed;
  }
  const nowMs = new Date(now).getTime();
  const startMs = input.startAt ? Date.parse(input.startAt) : Number.NaN;
  const elapsed = Number.isFinite(startMs) ? Math.max(0, Math.floor((nowMs - startMs) / 1000)) : undefined;
  const expected = plannedSeconds(lt.spec.load);
  const out: Progress = { requestsCompleted: completed, requestsFailed: failed, updateTime: rfc3339(nowMs) };
  if (elapsed !== undefined) out.elapsedSeconds = elapsed;
  if (expected !== undefined) out.expectedSeconds = expected;
  let ratio: number | undefined;
  if (input.finished) ratio = 1;
  else if (expected !== undefined && elapsed !== undefined) ratio = elapsed / expected;
  else if (lt.spec.load.maxRequests !== undefined) ratio = completed / lt.spec.load.maxRequests;
  if (ratio !== undefined) {
    const percent = input.finished ? 100 : Math.min(99, Math.max(0, Math.floor(ratio * 100)));
    out.percent = `${percent}%`;
  }
  return out;
}
