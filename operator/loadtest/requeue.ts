/**
 * When to look at a LoadTest again without being told. Everything a reconcile waits for that is an object
 * change arrives as an informer event (the Job, its pods, the result and start ConfigMaps all map to their
 * LoadTest), so a requeue is only needed where time alone changes the answer:
 * - the grace period of a pod that cannot start (image pull, config error, unschedulable) or the startup
 *   deadline ending (status/failure.ts);
 * - the Job's activeDeadlineSeconds passing before the Job controller has judged it;
 * - status.progress falling due while the test runs;
 * - the grace for final results after the Job finished;
 * - a referenced Secret/ConfigMap that may appear (not watched: polled, less often as the wait goes on).
 * Informer resyncs (every 10 min) re-queue every LoadTest anyway, the safety net for a lost event.
 *
 * A new time-based check in status/failure.ts needs its moment added to `nextFailureCheckAt`; the unit test
 * holds both together (no failure just before the moment, a failure at it).
 */
import type { LoadTest } from '../../api/loadtest.ts';
import { startupDeadlineMs } from './status/failure.ts';
import { type FailureDetectionOptions, type FailureObservations, failureDefaults } from './status/failure-types.ts';
import { waitingProblem } from './status/failure-waiting.ts';
import { isPodTerminal, podsByIndex } from './status/pods.ts';

/** Upper bound of a requeue (a timer must stay below 2^31 ms; resyncs come more often anyway). */
export const maxRequeueMs = 60 * 60_000;
/** Lower bound: a moment that has just passed must not become a tight loop. */
export const minRequeueMs = 500;

/**
 * The earliest moment after `nowMs` at which detectRunnerFailure may answer differently while no object
 * changes; Infinity when there is none.
 */
export function nextFailureCheckAt(
  obs: FailureObservations,
  nowMs: number,
  lt: LoadTest,
  options: FailureDetectionOptions = {},
): number {
  const o = { ...failureDefaults, ...options };
  const moments: number[] = [];
  const startupDeadline = startupDeadlineMs(obs, lt);
  if (!obs.started) moments.push(startupDeadline);
  for (const [index, pod] of podsByIndex(obs.pods)) {
    if (isPodTerminal(pod)) continue;
    const problem = waitingProblem(index, pod, lt, o);
    if (problem && !problem.permanent) {
      moments.push(Math.min(problem.sinceMs + problem.graceSeconds * 1000, startupDeadline));
    }
  }
  const job = obs.job;
  const deadlineSeconds = job?.spec?.activeDeadlineSeconds;
  const jobStarted = Date.parse(job?.status?.startTime ?? '');
  const judged = (job?.status?.conditions ?? []).some(
    (c) => c.status === 'True' && ['Complete', 'SuccessCriteriaMet', 'Failed', 'FailureTarget'].includes(c.type),
  );
  if (deadlineSeconds !== undefined && Number.isFinite(jobStarted) && !judged && !obs.results?.allFinal) {
    moments.push(jobStarted + deadlineSeconds * 1000);
  }
  return earliestAfter(moments, nowMs);
}

/** When status.progress (last written at `updateTime`) is due again. */
export function progressDueAt(updateTime: string | undefined, intervalMs: number, nowMs: number): number {
  const last = Date.parse(updateTime ?? '');
  return Number.isFinite(last) && last + intervalMs > nowMs ? last + intervalMs : nowMs + intervalMs;
}

/**
 * How long to wait before checking missing references again: 5 s at first (a Secret created right after the
 * LoadTest is seen at once), then a quarter of the time waited so far, at most a minute; never past the
 * startup deadline, when the wait ends in Failed.
 */
export function referencePollDelayMs(createdMs: number, nowMs: number, deadlineMs: number): number {
  const waited = Number.isFinite(createdMs) ? Math.max(0, nowMs - createdMs) : 0;
  const poll = Math.min(60_000, Math.max(5_000, waited / 4));
  return Math.max(minRequeueMs, Math.min(poll, deadlineMs - nowMs));
}

/** The delay until the earliest of `moments` after `nowMs`, within [minRequeueMs, maxRequeueMs]. */
export function requeueDelayMs(moments: readonly number[], nowMs: number): number {
  const at = earliestAfter(moments, nowMs);
  if (!Number.isFinite(at)) return maxRequeueMs;
  return Math.min(maxRequeueMs, Math.max(minRequeueMs, Math.ceil(at - nowMs)));
}

function earliestAfter(moments: readonly number[], nowMs: number): number {
  let earliest = Number.POSITIVE_INFINITY;
  for (const moment of moments) if (moment > nowMs && moment < earliest) earliest = moment;
  return earliest;
}
