/** Failures the runner Job's status shows: DeadlineExceeded and other Failed conditions. */
import type { LoadTest } from '../../../api/loadtest.ts';
import type { ObservedJob } from '../desired/kube-types.ts';
import { runnerJobName } from '../desired/names.ts';
import type { RunnerFailure } from './failure-types.ts';

export function isJobFinished(job: ObservedJob): boolean {
  return (job.status?.conditions ?? []).some(
    (condition) => (condition.type === 'Complete' || condition.type === 'Failed') && condition.status === 'True',
  );
}

/** The Job controller's verdict (Failed or FailureTarget) as a failure: DeadlineExceeded, else RunnerFailed. */
export function jobFailed(job: ObservedJob, lt: LoadTest, runners: number): RunnerFailure | undefined {
  const condition = (job.status?.conditions ?? []).find(
    (c) => (c.type === 'Failed' || c.type === 'FailureTarget') && c.status === 'True',
  );
  if (!condition) return undefined;
  const name = job.metadata.name || runnerJobName(lt.metadata.name ?? '', runners);
  const seconds = job.spec?.activeDeadlineSeconds;
  if (condition.reason === 'DeadlineExceeded') return deadlineExceeded(name, seconds);
  // At the deadline the Job controller deletes the runner pods; when it cannot record DeadlineExceeded in that
  // same pass (its expectations are not met yet), the next pass counts the deleted pods as failures and says
  // BackoffLimitExceeded. A verdict reached at or after the deadline is the deadline's.
  const startedMs = Date.parse(job.status?.startTime ?? '');
  const decidedMs = Date.parse(condition.lastTransitionTime ?? '');
  if (seconds !== undefined && decidedMs >= startedMs + seconds * 1000) return deadlineExceeded(name, seconds);
  return {
    reason: 'RunnerFailed',
    message: `runner Job ${name} failed: ${condition.reason ?? 'Failed'}${condition.message ? `: ${condition.message}` : ''}`,
  };
}

/**
 * DeadlineExceeded before the Job says so: its activeDeadlineSeconds (from status.startTime) has passed and the
 * Job controller has not judged it yet. The controller deletes the runner pods before its FailureTarget/Failed
 * condition reaches a watcher, so without this a runner stopped by the deadline would read as RunnerLost (its
 * pod vanished) or RunnerInterrupted (SIGTERM). Compares with this process's clock: skew against the
 * apiserver's only moves the moment by that much, and it applies only while the Job is unjudged.
 */
export function jobDeadlineFailure(
  job: ObservedJob,
  lt: LoadTest,
  runners: number,
  nowMs: number,
): RunnerFailure | undefined {
  const seconds = job.spec?.activeDeadlineSeconds;
  const startedMs = Date.parse(job.status?.startTime ?? '');
  if (seconds === undefined || !Number.isFinite(startedMs) || nowMs < startedMs + seconds * 1000) return undefined;
  const judged = (job.status?.conditions ?? []).some(
    (c) => c.status === 'True' && ['Complete', 'SuccessCriteriaMet', 'Failed', 'FailureTarget'].includes(c.type),
  );
  if (judged) return undefined;
  return deadlineExceeded(job.metadata.name || runnerJobName(lt.metadata.name ?? '', runners), seconds);
}

function deadlineExceeded(jobName: string, seconds: number | undefined): RunnerFailure {
  return {
    reason: 'DeadlineExceeded',
    message:
      `runner Job ${jobName} ran longer than its activeDeadlineSeconds${seconds ? ` (${seconds}s)` : ''} and was ` +
      'stopped: raise spec.activeDeadlineSeconds, or check why the run took longer than planned (a slow server ' +
      'holds requests open)',
  };
}

/** `1,3-5` → {1,3,4,5} (the Job's completedIndexes format). */
export function parseIndexes(text: string | undefined): Set<number> {
  const out = new Set<number>();
  for (const part of (text ?? '').split(',')) {
    const [from, to] = part.split('-').map((x) => Number(x));
    if (part === '' || from === undefined || !Number.isInteger(from)) continue;
    const end = to !== undefined && Number.isInteger(to) ? to : from;
    for (let i = from; i <= end && i - from < 100_000; i++) out.add(i);
  }
  return out;
}
