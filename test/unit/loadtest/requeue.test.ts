import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ObservedJob, Pod } from '../../../operator/loadtest/desired/kube-types.ts';
import {
  maxRequeueMs,
  minRequeueMs,
  nextFailureCheckAt,
  progressDueAt,
  referencePollDelayMs,
  requeueDelayMs,
} from '../../../operator/loadtest/requeue.ts';
import { detectRunnerFailure, type FailureObservations } from '../../../operator/loadtest/status/index.ts';
import { at, createdMs, loadTest, runnerPod } from './fixtures.ts';

const lt = loadTest({ parallelism: 2, startupDeadlineSeconds: 600 });
const seconds = (s: number) => createdMs + s * 1000;
const job = (extra: Partial<NonNullable<ObservedJob['status']>> = {}): ObservedJob => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'nightly-runners', namespace: 'bench', creationTimestamp: at(0) },
  spec: { completions: 2, parallelism: 2, activeDeadlineSeconds: 1010 },
  status: { active: 2, startTime: at(0), ...extra },
});
const running = (index: number) => runnerPod(index, { kind: 'running', ready: true });
const waiting = (index: number, reason: string) => runnerPod(index, { kind: 'waiting', reason });

function observations(pods: Pod[], started: boolean, extra: Partial<FailureObservations> = {}): FailureObservations {
  return { pods, job: job(), started, startupBeganAt: at(0), ...extra };
}

/** The wake-up moment is exactly where detectRunnerFailure changes its answer with nothing else changing. */
function assertFlipsAt(obs: FailureObservations, nowMs: number, expectedAt: number, reason: string) {
  const wake = nextFailureCheckAt(obs, nowMs, lt);
  assert.equal(wake, expectedAt);
  assert.equal(detectRunnerFailure(obs, wake - 1, lt), undefined, 'no failure just before the wake-up');
  assert.equal(detectRunnerFailure(obs, wake, lt)?.reason, reason, 'the failure shows at the wake-up');
}

describe('nextFailureCheckAt', () => {
  it('waiting at the barrier with pods that are fine: the startup deadline', () => {
    const obs = observations([runnerPod(0, { kind: 'pending' }), running(1)], false);
    assertFlipsAt(obs, seconds(5), seconds(600), 'StartupDeadlineExceeded');
  });

  it('a pod in image pull back-off: its grace period from the pod creation (60 s)', () => {
    const obs = observations([waiting(0, 'ImagePullBackOff'), running(1)], false);
    // runnerPod is created at 1 s.
    assertFlipsAt(obs, seconds(10), seconds(61), 'ImagePullBackOff');
  });

  it('a container config error: 30 s; an unschedulable pod: 120 s from PodScheduled=False', () => {
    assertFlipsAt(
      observations([waiting(0, 'CreateContainerConfigError'), running(1)], false),
      seconds(2),
      seconds(31),
      'CreateContainerConfigError',
    );
    assertFlipsAt(
      observations([runnerPod(0, { kind: 'unscheduled' }), running(1)], false),
      seconds(2),
      seconds(121),
      'Unschedulable',
    );
  });

  it('a grace period never ends after the startup deadline', () => {
    const short = loadTest({ parallelism: 2, startupDeadlineSeconds: 20 });
    const obs = observations([runnerPod(0, { kind: 'unscheduled' }), running(1)], false);
    assert.equal(nextFailureCheckAt(obs, seconds(2), short), seconds(20));
    assert.equal(detectRunnerFailure(obs, seconds(20), short)?.reason, 'Unschedulable');
  });

  it('running: no startup deadline, but the Job deadline while the Job controller has not judged it', () => {
    const obs = observations([running(0), running(1)], true);
    assertFlipsAt(obs, seconds(100), seconds(1010), 'DeadlineExceeded');
    const judged = observations([running(0), running(1)], true, {
      job: job({ conditions: [{ type: 'Complete', status: 'True' }] }),
    });
    assert.equal(nextFailureCheckAt(judged, seconds(100), lt), Number.POSITIVE_INFINITY);
  });

  it('permanent problems and moments already past give no wake-up', () => {
    const obs = observations([waiting(0, 'InvalidImageName'), running(1)], true, { job: job({ startTime: '' }) });
    assert.equal(nextFailureCheckAt(obs, seconds(10), lt), Number.POSITIVE_INFINITY);
    const late = observations([runnerPod(0, { kind: 'pending' })], false);
    assert.equal(nextFailureCheckAt(late, seconds(700), lt), seconds(1010), 'the startup deadline (600 s) is past');
  });
});

describe('requeue delays', () => {
  it('progressDueAt: one interval after the last update, or from now when there was none or it is past', () => {
    const now = seconds(100);
    assert.equal(progressDueAt(at(95), 10_000, now), seconds(105));
    assert.equal(progressDueAt(undefined, 10_000, now), seconds(110));
    assert.equal(progressDueAt(at(80), 10_000, now), seconds(110));
  });

  it('referencePollDelayMs: 5 s at first, then a quarter of the wait up to a minute, never past the deadline', () => {
    const deadline = seconds(3600);
    assert.equal(referencePollDelayMs(createdMs, seconds(1), deadline), 5_000);
    assert.equal(referencePollDelayMs(createdMs, seconds(80), deadline), 20_000);
    assert.equal(referencePollDelayMs(createdMs, seconds(1000), deadline), 60_000);
    assert.equal(referencePollDelayMs(createdMs, seconds(3598), deadline), 2_000);
    assert.equal(referencePollDelayMs(Number.NaN, seconds(10), deadline), 5_000);
  });

  it('requeueDelayMs: the earliest future moment, bounded; nothing pending → the long fallback', () => {
    const now = seconds(10);
    assert.equal(requeueDelayMs([seconds(70), seconds(40), seconds(5)], now), 30_000);
    assert.equal(requeueDelayMs([Number.POSITIVE_INFINITY], now), maxRequeueMs);
    assert.equal(requeueDelayMs([], now), maxRequeueMs);
    assert.equal(requeueDelayMs([now + 10], now), minRequeueMs, 'never a tight loop');
    assert.equal(requeueDelayMs([seconds(100_000)], now), maxRequeueMs, 'a timer stays far below 2^31 ms');
  });
});
