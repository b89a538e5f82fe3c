/**
 * Facts about a LoadTest's run that several renderers and the status logic need: how many runners, how long
 * the run is planned to last, which seed it uses, and the timings of the runner pods.
 */
import type { LoadSettings, LoadTest } from '../../../api/loadtest.ts';
import { runDefaults } from '../../../runner/config/overrides.ts';
import { allAssignments, type RunnerAssignment } from '../../../runner/handoff/assignment.ts';

/** Timings of runner pods; the operator may override them (tests use short lingers). */
export interface RunnerTimings {
  /** SIGTERM → in-flight requests get this long before they are cancelled (runner --grace-period). */
  gracePeriodSeconds: number;
  /** Time to write the final result and exit after the grace period. */
  flushSeconds: number;
  /** /metrics stays up this long after the run for the last Prometheus scrape (runner --linger). */
  metricsLingerSeconds: number;
  /** The agreed start time is this far after the last runner reported ready. */
  startLeadSeconds: number;
}

export const defaultTimings: RunnerTimings = {
  gracePeriodSeconds: 30,
  flushSeconds: 15,
  metricsLingerSeconds: 30,
  startLeadSeconds: 5,
};

export interface ExpectedRunners {
  /** spec.parallelism: runners per target. */
  perTarget: number;
  /** Target names in spec order. */
  targets: string[];
  /** All runners: targets × parallelism (the Job's completions). */
  count: number;
  assignments: RunnerAssignment[];
}

export function expectedRunners(lt: Pick<LoadTest, 'spec'>): ExpectedRunners {
  const targets = lt.spec.targets.map((target) => target.name);
  const perTarget = lt.spec.parallelism;
  return { perTarget, targets, count: perTarget * targets.length, assignments: allAssignments(perTarget, targets) };
}

/**
 * Planned length of the run in seconds (warmup and cooldown included), as the runner plans it: the stages, the
 * sweep's (rates + 2) steps, durationSeconds, or the runner's default duration when nothing else ends the run.
 * Undefined when only maxRequests ends it.
 */
export function plannedSeconds(load: LoadSettings): number | undefined {
  if (load.stages) return load.stages.reduce((sum, stage) => sum + stage.durationSeconds, 0);
  if (load.profile === 'sweep' && load.sweep) return (load.sweep.rates + 2) * load.sweep.stepSeconds;
  if (load.durationSeconds !== undefined) return load.durationSeconds;
  return load.maxRequests === undefined ? runDefaults.durationSeconds : undefined;
}

/** When only maxRequests ends the run, the derived Job deadline assumes at most this long. */
export const unknownLengthSeconds = 24 * 3600;
/** Slack for in-flight requests at the end of the run and prompt calibration at its start. */
const drainSeconds = 300;

/**
 * The runner Job's activeDeadlineSeconds: spec.activeDeadlineSeconds, or the startup deadline + the start
 * lead + the planned run (+10%) + drain + linger + grace + flush. It bounds a run that hangs for any reason.
 */
export function jobActiveDeadlineSeconds(lt: Pick<LoadTest, 'spec'>, timings: RunnerTimings = defaultTimings): number {
  if (lt.spec.activeDeadlineSeconds !== undefined) return lt.spec.activeDeadlineSeconds;
  const planned = plannedSeconds(lt.spec.load) ?? unknownLengthSeconds;
  return (
    lt.spec.startupDeadlineSeconds +
    timings.startLeadSeconds +
    planned +
    Math.ceil(planned / 10) +
    drainSeconds +
    timings.metricsLingerSeconds +
    timings.gracePeriodSeconds +
    timings.flushSeconds
  );
}

/** Runner pods' terminationGracePeriodSeconds: the runner's own grace period plus time to flush results. */
export function terminationGracePeriodSeconds(timings: RunnerTimings = defaultTimings): number {
  return timings.gracePeriodSeconds + timings.flushSeconds;
}

/**
 * The seed the run uses: spec.load.seed, else the one already recorded in status.seed, else one derived from
 * the LoadTest's uid (FNV-1a), so a re-render after an operator restart picks the same seed without state.
 */
export function effectiveSeed(lt: Pick<LoadTest, 'spec' | 'status' | 'metadata'>): number {
  if (lt.spec.load.seed !== undefined) return lt.spec.load.seed;
  if (lt.status?.seed !== undefined) return lt.status.seed;
  const uid = lt.metadata.uid ?? '';
  let hash = 0x811c9dc5;
  for (let i = 0; i < uid.length; i++) {
    hash ^= uid.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
