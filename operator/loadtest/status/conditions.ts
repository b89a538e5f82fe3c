/**
 * The LoadTest's conditions from what a reconcile observed, with metav1.Condition semantics (set through
 * operator/runtime's setCondition: lastTransitionTime moves only when a status changes):
 *
 * | situation            | Accepted           | RunnersReady              | Succeeded                   | Failed             |
 * | -------------------- | ------------------ | ------------------------- | --------------------------- | ------------------ |
 * | refs missing         | False SecretNotFound… | False NotAccepted      | Unknown Pending             | False NoFailure    |
 * | starting             | True RunnerObjectsCreated | False WaitingForRunners | Unknown Pending        | False NoFailure    |
 * | running              | True               | True Started              | Unknown Running             | False NoFailure    |
 * | completed, SLOs held | True               | False RunFinished         | True ThresholdsMet/Completed | False Completed   |
 * | thresholds breached  | True               | False RunFinished         | False ThresholdsBreached    | False Completed    |
 * | failed               | (unchanged)        | False <reason>            | False <reason>              | True <reason>      |
 *
 * Once Succeeded is True or False the conditions are final and never change again (a finished test is never
 * re-judged, e.g. after an operator restart or a late pod event). phaseFromConditions derives the phase.
 */

import { LoadTestConditionType, type ThresholdResult } from '../../../api/loadtest.ts';
import { type Condition, type ConditionUpdate, findCondition, setConditions } from '../../runtime/conditions.ts';
import type { ResultProblem } from './results.ts';
import type { StartDecision } from './start.ts';
import { thresholdsMessage } from './thresholds.ts';

export interface ConditionObservations {
  /** metadata.generation, recorded as observedGeneration. */
  generation?: number;
  /** Whether the runner objects were applied, or why not (e.g. SecretNotFound from checkReferences). */
  accepted: { ok: true; message?: string } | { ok: false; reason: string; message: string };
  /** The start barrier's decision; absent before the runner Job exists. */
  start?: StartDecision;
  /** A failure (detectRunnerFailure, a failed start, result problems): ends the test. */
  failure?: { reason: string; message: string };
  /** The run completed and every runner's final result was merged. */
  completed?: { thresholds: readonly ThresholdResult[]; runners: number };
}

const T = LoadTestConditionType;

export function isFinished(conditions: readonly Condition[] | undefined): boolean {
  const succeeded = findCondition(conditions, T.Succeeded)?.status;
  return succeeded === 'True' || succeeded === 'False';
}

export function nextConditions(
  conditions: readonly Condition[] | undefined,
  obs: ConditionObservations,
  now: Date | number,
): Condition[] {
  if (isFinished(conditions)) return [...(conditions ?? [])];
  const g = obs.generation === undefined ? {} : { observedGeneration: obs.generation };
  const set = (type: string, status: Condition['status'], reason: string, message = ''): ConditionUpdate => ({
    type,
    status,
    reason,
    message,
    ...g,
  });
  const updates: ConditionUpdate[] = [];
  if (obs.failure) {
    const { reason, message } = obs.failure;
    if (!findCondition(conditions, T.Accepted)) {
      updates.push(
        obs.accepted.ok ? set(T.Accepted, 'True', 'RunnerObjectsCreated') : set(T.Accepted, 'False', reason, message),
      );
    }
    updates.push(
      set(T.RunnersReady, 'False', reason, message),
      set(T.Succeeded, 'False', reason, message),
      set(T.Failed, 'True', reason, message),
    );
    return setConditions(conditions, updates, now);
  }
  if (obs.completed) {
    const { thresholds, runners } = obs.completed;
    const breached = thresholds.some((threshold) => !threshold.met);
    updates.push(
      set(T.Accepted, 'True', 'RunnerObjectsCreated', findCondition(conditions, T.Accepted)?.message ?? ''),
      set(T.RunnersReady, 'False', 'RunFinished', `all ${runners} runners finished`),
      breached
        ? set(T.Succeeded, 'False', 'ThresholdsBreached', thresholdsMessage(thresholds))
        : thresholds.length > 0
          ? set(T.Succeeded, 'True', 'ThresholdsMet', thresholdsMessage(thresholds))
          : set(T.Succeeded, 'True', 'Completed', 'the run completed (no SLO thresholds set)'),
      set(T.Failed, 'False', 'Completed', 'the run completed'),
    );
    return setConditions(conditions, updates, now);
  }
  if (obs.accepted.ok) {
    updates.push(set(T.Accepted, 'True', 'RunnerObjectsCreated', obs.accepted.message ?? 'runner objects created'));
  } else {
    updates.push(set(T.Accepted, 'False', obs.accepted.reason, obs.accepted.message));
  }
  const start = obs.start;
  if (!obs.accepted.ok) {
    updates.push(
      set(T.RunnersReady, 'False', 'NotAccepted', 'the runners are not created until the LoadTest is accepted'),
    );
  } else if (start?.action === 'start') {
    updates.push(
      set(T.RunnersReady, 'True', 'Started', `all ${start.total} runners ready; load starts at ${start.startAt}`),
    );
  } else if (start?.action === 'wait') {
    updates.push(set(T.RunnersReady, 'False', 'WaitingForRunners', start.message));
  } else {
    updates.push(set(T.RunnersReady, 'False', 'WaitingForRunners', 'the runner Job is being created'));
  }
  updates.push(
    start?.action === 'start'
      ? set(T.Succeeded, 'Unknown', 'Running', 'the load test is running')
      : set(T.Succeeded, 'Unknown', 'Pending', 'the load test has not started'),
    set(T.Failed, 'False', 'NoFailure', ''),
  );
  return setConditions(conditions, updates, now);
}

/** Result problems of a completed run as a failure (the other runners' results are still reported). */
export function resultProblemsFailure(
  problems: readonly ResultProblem[],
): { reason: string; message: string } | undefined {
  const first = problems[0];
  if (!first) return undefined;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  return {
    reason: first.reason,
    message: `${first.message}${more}; the other runners' results are in status.summary and the report`,
  };
}

export interface ConditionChange {
  type: string;
  status: Condition['status'];
  reason: string;
  message: string;
  /** Warning for Failed=True, Succeeded=False and Accepted=False; Normal otherwise. */
  eventType: 'Normal' | 'Warning';
}

/** Conditions whose status or reason changed: one Event each. */
export function conditionChanges(
  before: readonly Condition[] | undefined,
  after: readonly Condition[],
): ConditionChange[] {
  const changes: ConditionChange[] = [];
  for (const condition of after) {
    const old = findCondition(before, condition.type);
    if (old && old.status === condition.status && old.reason === condition.reason) continue;
    if (!old && condition.status === 'Unknown') continue;
    const warning =
      (condition.type === T.Failed && condition.status === 'True') ||
      (condition.type === T.Succeeded && condition.status === 'False') ||
      (condition.type === T.Accepted && condition.status === 'False');
    changes.push({
      type: condition.type,
      status: condition.status,
      reason: condition.reason,
      message: condition.message,
      eventType: warning ? 'Warning' : 'Normal',
    });
  }
  return changes;
}
