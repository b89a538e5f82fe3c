/**
 * The operator's side of the start barrier. A runner is ready when it has written phase Ready (or later) to
 * its result ConfigMap and its pod is still alive: it has parsed its config, serves /metrics, can write its
 * result, and now watches the start signal. Once all runners are ready the operator writes one common start
 * time, `now + startLeadSeconds`, into `<lt>-start` (renderStartSignal); the lead covers the signal's watch
 * delivery to every runner. Before that, any runner failure or the startup deadline fails the test (the
 * operator then writes an Abort signal so waiting runners exit at once).
 *
 * Idempotent: once a start signal exists its time is returned unchanged, so an operator restarted between
 * writing the signal and recording status.startTime never picks a second start time.
 */
import type { LoadTest } from '../../../api/loadtest.ts';
import type { StartSignal } from '../../../runner/handoff/protocol.ts';
import type { ObservedJob, Pod } from '../desired/kube-types.ts';
import { defaultTimings, expectedRunners } from '../desired/plan.ts';
import { detectRunnerFailure, type FailureDetectionOptions, startupBlockers } from './failure.ts';
import { isPodTerminal, podsByIndex } from './pods.ts';
import type { MergedResults } from './results.ts';

export interface StartObservations {
  pods: readonly Pod[];
  job?: ObservedJob;
  /** The merged results (their `ready` set says who reported at the barrier). */
  results?: MergedResults;
  /** `<lt>-start` as parsed by parseStartSignal, when it exists. */
  startSignal?: StartSignal;
  /** The runner Job's creationTimestamp (or the LoadTest's while there is no Job). */
  startupBeganAt?: string;
}

export type StartDecision =
  | { action: 'wait'; ready: number; total: number; message: string }
  | { action: 'start'; startAtMs: number; startAt: string; total: number }
  | { action: 'fail'; reason: string; message: string };

export interface StartOptions extends FailureDetectionOptions {
  /** Seconds between the decision and the common start time; default 5. */
  startLeadSeconds?: number;
}

export function decideStart(
  obs: StartObservations,
  now: Date | number,
  lt: LoadTest,
  options: StartOptions = {},
): StartDecision {
  const total = expectedRunners(lt).count;
  const signal = obs.startSignal;
  if (signal?.kind === 'start') {
    return { action: 'start', startAtMs: signal.startAtMs, startAt: new Date(signal.startAtMs).toISOString(), total };
  }
  if (signal?.kind === 'abort') return { action: 'fail', reason: signal.reason, message: signal.message };
  const failure = detectRunnerFailure({ ...obs, started: false }, now, lt, options);
  if (failure) return { action: 'fail', reason: failure.reason, message: failure.message };
  const ready = readyRunners(obs);
  if (ready.size === total) {
    const startAtMs = new Date(now).getTime() + (options.startLeadSeconds ?? defaultTimings.startLeadSeconds) * 1000;
    return { action: 'start', startAtMs, startAt: new Date(startAtMs).toISOString(), total };
  }
  const waiting = startupBlockers({ ...obs, results: withReady(obs.results, ready) }, lt);
  const shown = waiting.slice(0, 3).map((blocker) => blocker.text);
  if (waiting.length > shown.length) shown.push(`and ${waiting.length - shown.length} more`);
  return {
    action: 'wait',
    ready: ready.size,
    total,
    message: `${ready.size}/${total} runners ready; waiting for ${shown.join('; ')}`,
  };
}

/** Indexes of runners that reported ready and whose pod is alive. */
export function readyRunners(obs: Pick<StartObservations, 'pods' | 'results'>): Set<number> {
  const pods = podsByIndex(obs.pods);
  const ready = new Set<number>();
  for (const index of obs.results?.ready ?? []) {
    const pod = pods.get(index);
    if (pod && !isPodTerminal(pod) && !pod.metadata.deletionTimestamp) ready.add(index);
  }
  return ready;
}

function withReady(results: MergedResults | undefined, ready: Set<number>): MergedResults | undefined {
  return results ? { ...results, ready } : undefined;
}
