/**
 * Why a LoadTest cannot complete, from what the API shows: runner pods and their Job as a kubelet and the Job
 * controller report them, and the runners' (partial) results. Returns the first, most actionable failure as a
 * CamelCase reason and a message naming the runner, pod, container, image, Secret or target involved, or
 * undefined while nothing is wrong.
 *
 * Permanent states fail at once (OOMKilled, a runner that exited with an error, a lost pod, an invalid image
 * name, Job DeadlineExceeded, every request failing). States a cluster can heal (image pull back-off, a Secret
 * created a little after the LoadTest, a pod waiting for the autoscaler) fail after a grace period counted from
 * the pod's creation, never later than the startup deadline; at the deadline the most specific reason known
 * wins over StartupDeadlineExceeded.
 */
import type { LoadTest } from '../../../api/loadtest.ts';
import { expectedRunners } from '../desired/plan.ts';
import { isJobFinished, jobDeadlineFailure, jobFailed, parseIndexes } from './failure-job.ts';
import { oomKilled, terminatedFailure } from './failure-pods.ts';
import { resultFailure } from './failure-results.ts';
import {
  type FailureDetectionOptions,
  type FailureObservations,
  failureDefaults,
  type RunnerFailure,
} from './failure-types.ts';
import { waitingProblem } from './failure-waiting.ts';
import { describeRunner, isPodTerminal, podStateText, podsByIndex, runnerContainer } from './pods.ts';

export { parseIndexes } from './failure-job.ts';
export type { FailureDetectionOptions, FailureObservations, RunnerFailure } from './failure-types.ts';

export function detectRunnerFailure(
  obs: FailureObservations,
  now: Date | number,
  lt: LoadTest,
  options: FailureDetectionOptions = {},
): RunnerFailure | undefined {
  const o = { ...failureDefaults, ...options };
  const nowMs = new Date(now).getTime();
  const expected = expectedRunners(lt);
  const pods = podsByIndex(obs.pods);
  const indexes = expected.assignments.map((assignment) => assignment.index);

  const fromResults = obs.results && resultFailure(obs.results, lt, o.allFailingMinRequests);
  if (fromResults) return fromResults;

  for (const index of indexes) {
    const pod = pods.get(index);
    if (pod && runnerContainer(pod)?.state?.terminated?.reason === 'OOMKilled') return oomKilled(index, pod);
  }
  const jobFailure = obs.job && jobFailed(obs.job, lt, expected.count);
  if (jobFailure?.reason === 'DeadlineExceeded') return jobFailure;
  // Unless every runner already delivered its final result, a Job past its deadline explains stopped runners.
  const pastDeadline = obs.job && !obs.results?.allFinal && jobDeadlineFailure(obs.job, lt, expected.count, nowMs);
  if (pastDeadline) return pastDeadline;
  for (const index of indexes) {
    const pod = pods.get(index);
    const failure = pod && terminatedFailure(index, pod, obs.results);
    if (failure) return failure;
  }
  const deadlineMs = startupDeadlineMs(obs, lt);
  for (const index of indexes) {
    const pod = pods.get(index);
    if (!pod || isPodTerminal(pod)) continue;
    const problem = waitingProblem(index, pod, lt, o);
    if (
      problem &&
      (problem.permanent || nowMs >= Math.min(problem.sinceMs + problem.graceSeconds * 1000, deadlineMs))
    ) {
      return { reason: problem.reason, message: problem.message, index };
    }
  }
  if (jobFailure) return jobFailure;
  if (obs.started && obs.job && !isJobFinished(obs.job)) {
    const completed = parseIndexes(obs.job.status?.completedIndexes);
    for (const index of indexes) {
      if (!pods.has(index) && !completed.has(index)) {
        return {
          reason: 'RunnerLost',
          message: `${describeRunner(index)}: its pod disappeared during the run (deleted, or its node was lost); its share of the load was not sent`,
          index,
        };
      }
    }
  }
  if (!obs.started && nowMs >= deadlineMs) return startupDeadlineFailure(obs, lt);
  return undefined;
}

/** Epoch ms at which startup fails (Infinity when it is unknown when startup began). */
export function startupDeadlineMs(obs: Pick<FailureObservations, 'startupBeganAt'>, lt: LoadTest): number {
  const began = obs.startupBeganAt ? Date.parse(obs.startupBeganAt) : Number.NaN;
  return Number.isFinite(began) ? began + lt.spec.startupDeadlineSeconds * 1000 : Number.POSITIVE_INFINITY;
}

/** Why each runner that has not reported ready is not ready yet, in index order. */
export function startupBlockers(
  obs: Pick<FailureObservations, 'pods' | 'job' | 'results'>,
  lt: LoadTest,
): { index: number; text: string; reason?: string; message?: string }[] {
  const pods = podsByIndex(obs.pods);
  const ready = obs.results?.ready ?? new Set<number>();
  return expectedRunners(lt)
    .assignments.filter(({ index }) => !ready.has(index))
    .map(({ index }) => {
      const pod = pods.get(index);
      if (!pod) {
        return {
          index,
          text: obs.job
            ? `${describeRunner(index)}: no pod (the Job controller did not create it: see the events of Job ${obs.job.metadata.name}, e.g. a ResourceQuota)`
            : `${describeRunner(index)}: the runner Job does not exist yet`,
        };
      }
      const problem = waitingProblem(index, pod, lt, failureDefaults);
      const state = podStateText(pod);
      const text =
        state === 'Running'
          ? `${describeRunner(index, pod)}: running but has not reported ready (still calibrating, or cannot reach the API)`
          : `${describeRunner(index, pod)}: ${state}`;
      return { index, text, ...(problem ? { reason: problem.reason, message: problem.message } : {}) };
    });
}

function startupDeadlineFailure(obs: FailureObservations, lt: LoadTest): RunnerFailure {
  const blockers = startupBlockers(obs, lt);
  const specific = blockers.find((blocker) => blocker.reason);
  if (specific?.reason && specific.message) {
    return { reason: specific.reason, message: specific.message, index: specific.index };
  }
  const total = expectedRunners(lt).count;
  const shown = blockers.slice(0, 5).map((blocker) => blocker.text);
  if (blockers.length > shown.length) shown.push(`and ${blockers.length - shown.length} more`);
  return {
    reason: 'StartupDeadlineExceeded',
    message:
      `${total - blockers.length} of ${total} runners were ready within spec.startupDeadlineSeconds ` +
      `(${lt.spec.startupDeadlineSeconds}s): ${shown.join('; ')}`,
    ...(blockers[0] ? { index: blockers[0].index } : {}),
  };
}
