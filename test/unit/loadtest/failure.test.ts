import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ObservedJob, Pod } from '../../../operator/loadtest/desired/kube-types.ts';
import { expectedRunners } from '../../../operator/loadtest/desired/plan.ts';
import {
  detectRunnerFailure,
  type FailureObservations,
  mergeRunnerResults,
  parseIndexes,
} from '../../../operator/loadtest/status/index.ts';
import { decodeResultConfigMap } from '../../../runner/handoff/protocol.ts';
import { at, createdMs, loadTest, request, resultCm, runnerPod, runnerResult, statsOf } from './fixtures.ts';

const lt = loadTest({ parallelism: 2 });
const expected = expectedRunners(lt);
const job = (conditions: NonNullable<ObservedJob['status']>['conditions'] = [], extra = {}): ObservedJob => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'nightly-runners', namespace: 'bench', creationTimestamp: at(0) },
  spec: { completions: 2, parallelism: 2, activeDeadlineSeconds: 1010 },
  status: { active: 2, startTime: at(0), conditions, ...extra },
});
const running = (index: number) => runnerPod(index, { kind: 'running', ready: true });
const seconds = (s: number) => createdMs + s * 1000;

function detect(pods: Pod[], now: number, extra: Partial<FailureObservations> = {}, test = lt) {
  return detectRunnerFailure({ pods, job: job(), started: true, startupBeganAt: at(0), ...extra }, now, test);
}

describe('detectRunnerFailure', () => {
  it('finds nothing wrong with healthy or finished runners', () => {
    assert.equal(detect([running(0), running(1)], seconds(100)), undefined);
    const done = runnerPod(1, { kind: 'terminated', exitCode: 0, reason: 'Completed' });
    assert.equal(detect([running(0), done], seconds(100)), undefined);
  });

  it('OOMKilled: names the pod, the container and its memory limit', () => {
    const oom = runnerPod(1, { kind: 'terminated', exitCode: 137, reason: 'OOMKilled' }, { memoryLimit: '512Mi' });
    const failure = detect([running(0), oom], seconds(100));
    assert.equal(failure?.reason, 'OOMKilled');
    assert.equal(failure?.index, 1);
    assert.match(
      failure?.message ?? '',
      /^runner 1 \(pod nightly-runners-1-x7k2p\): container runner ran out of memory with its memory limit 512Mi and was killed: raise spec\.runner\.resources\.limits\.memory/,
    );
  });

  it('ImagePullBackOff: fails after the grace period, at once for an invalid name, never after the startup deadline', () => {
    const pulling = runnerPod(0, {
      kind: 'waiting',
      reason: 'ImagePullBackOff',
      message: 'Back-off pulling image "ghcr.io/loadlm/loadlm:0.1.0"',
    });
    const before = { started: false };
    assert.equal(detect([pulling, running(1)], seconds(30), before), undefined);
    const failure = detect([pulling, running(1)], seconds(62), before);
    assert.equal(failure?.reason, 'ImagePullBackOff');
    assert.match(
      failure?.message ?? '',
      /runner 0 \(pod nightly-runners-0-x7k2p\): cannot pull image "ghcr\.io\/loadlm\/loadlm:0\.1\.0": Back-off pulling image .*spec\.runner\.imagePullSecrets/,
    );
    const quick = loadTest({ parallelism: 2, startupDeadlineSeconds: 10 });
    assert.equal(detect([pulling, running(1)], seconds(11), before, quick)?.reason, 'ImagePullBackOff');
    const invalid = runnerPod(0, {
      kind: 'waiting',
      reason: 'InvalidImageName',
      message: 'Failed to apply default image tag "ghcr.io/LoadLM": couldn\'t parse image name',
    });
    assert.equal(detect([invalid, running(1)], seconds(2), before)?.reason, 'InvalidImageName');
  });

  it('SecretNotFound / SecretKeyNotFound: ties the kubelet message back to the spec field', () => {
    const withKey = loadTest({
      parallelism: 1,
      targets: [
        {
          name: 'm',
          url: 'http://m:8000/v1',
          model: 'm',
          apiKeySecretRef: { name: 'mistral-api-key', key: 'api-key' },
        },
      ],
    });
    const missing = runnerPod(0, {
      kind: 'waiting',
      reason: 'CreateContainerConfigError',
      message: 'secret "mistral-api-key" not found',
    });
    const before = { started: false };
    assert.equal(detect([missing], seconds(20), before, withKey), undefined);
    const failure = detect([missing], seconds(32), before, withKey);
    assert.equal(failure?.reason, 'SecretNotFound');
    assert.match(
      failure?.message ?? '',
      /Secret bench\/mistral-api-key \(spec\.targets\[0\]\.apiKeySecretRef\) does not exist: create it/,
    );
    const noKey = runnerPod(0, {
      kind: 'waiting',
      reason: 'CreateContainerConfigError',
      message: "couldn't find key api-key in Secret bench/mistral-api-key",
    });
    assert.equal(detect([noKey], seconds(32), before, withKey)?.reason, 'SecretKeyNotFound');
  });

  it('Unschedulable: leaves room for an autoscaler, then repeats the scheduler’s message', () => {
    const pending = runnerPod(1, {
      kind: 'unscheduled',
      message: '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available.',
    });
    const before = { started: false };
    assert.equal(detect([running(0), pending], seconds(100), before), undefined);
    const failure = detect([running(0), pending], seconds(122), before);
    assert.equal(failure?.reason, 'Unschedulable');
    assert.match(
      failure?.message ?? '',
      /runner 1 \(pod nightly-runners-1-x7k2p\) cannot be scheduled: 0\/3 nodes are available: 3 Insufficient cpu/,
    );
  });

  it('DeadlineExceeded: the Job’s condition explains the runners it stopped', () => {
    const stopped = runnerPod(0, { kind: 'terminated', exitCode: 143, reason: 'Error' });
    const failed = job([
      {
        type: 'FailureTarget',
        status: 'True',
        reason: 'DeadlineExceeded',
        message: 'Job was active longer than specified deadline',
      },
      {
        type: 'Failed',
        status: 'True',
        reason: 'DeadlineExceeded',
        message: 'Job was active longer than specified deadline',
      },
    ]);
    const failure = detect([stopped, running(1)], seconds(1020), { job: failed });
    assert.equal(failure?.reason, 'DeadlineExceeded');
    assert.match(
      failure?.message ?? '',
      /runner Job nightly-runners ran longer than its activeDeadlineSeconds \(1010s\)/,
    );
  });

  it('DeadlineExceeded: past the deadline, runners the Job controller stopped are not RunnerLost/Interrupted', () => {
    // The controller deletes the pods before its condition reaches the operator's cache.
    const interrupted = runnerPod(0, { kind: 'terminated', exitCode: 143, reason: 'Error' });
    assert.equal(detect([running(0)], seconds(1011))?.reason, 'DeadlineExceeded');
    assert.equal(detect([interrupted, running(1)], seconds(1011))?.reason, 'DeadlineExceeded');
    assert.match(
      detect([running(0)], seconds(1011))?.message ?? '',
      /runner Job nightly-runners ran longer than its activeDeadlineSeconds \(1010s\)/,
    );
    // Before the deadline the same observations are what they look like.
    assert.equal(detect([running(0)], seconds(1009))?.reason, 'RunnerLost');
    assert.equal(detect([interrupted, running(1)], seconds(1009))?.reason, 'RunnerInterrupted');
    // A Job already judged keeps the Job controller's verdict.
    const complete = job([{ type: 'Complete', status: 'True' }]);
    assert.equal(detect([running(0), running(1)], seconds(1011), { job: complete }), undefined);
    // The controller counted the pods it deleted at the deadline as failures: BackoffLimitExceeded after the
    // deadline is the deadline's; before it, a runner failed.
    const backoff = (s: number) =>
      job([{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', lastTransitionTime: at(s) }]);
    assert.equal(detect([], seconds(1012), { job: backoff(1010) })?.reason, 'DeadlineExceeded');
    const early = detect([], seconds(1012), { job: backoff(500) });
    assert.equal(early?.reason, 'RunnerFailed');
    assert.match(early?.message ?? '', /BackoffLimitExceeded/);
  });

  it('RunnerLost: a lost node or executor, an eviction, or a pod that vanished mid-run', () => {
    const lost = runnerPod(1, {
      kind: 'terminated',
      exitCode: 137,
      reason: 'ContainerStatusUnknown',
      message: 'The container could not be located when the pod was terminated',
      podReason: 'ExecutorLost',
      podMessage: 'Pod failed: its pod executor was restarted.',
    });
    const failure = detect([running(0), lost], seconds(100));
    assert.equal(failure?.reason, 'RunnerLost');
    assert.match(
      failure?.message ?? '',
      /runner 1 .*was lost during the run \(ExecutorLost: Pod failed: its pod executor was restarted\.\)/,
    );
    const evicted = runnerPod(0, {
      kind: 'terminated',
      exitCode: 137,
      reason: 'Error',
      podReason: 'Evicted',
      podMessage: 'The node was low on resource: memory.',
    });
    assert.equal(detect([evicted, running(1)], seconds(100))?.reason, 'RunnerLost');
    const vanished = detect([running(0)], seconds(100));
    assert.equal(vanished?.reason, 'RunnerLost');
    assert.match(vanished?.message ?? '', /runner 1: its pod disappeared during the run/);
    // A finished index whose pod was garbage-collected is not lost.
    assert.equal(detect([running(0)], seconds(100), { job: job([], { completedIndexes: '1' }) }), undefined);
  });

  it('runner exit codes: config rejected (2), run failed (3, with the runner’s own words), interrupted, other', () => {
    const rejected = runnerPod(0, {
      kind: 'terminated',
      exitCode: 2,
      reason: 'Error',
      message:
        "loadlm: unknown option --config-env (did you mean --config?) for 'loadlm run'\nRun 'loadlm run --help' for the options.",
    });
    const config = detect([rejected, running(1)], seconds(5), { started: false });
    assert.equal(config?.reason, 'RunnerConfigInvalid');
    assert.match(
      config?.message ?? '',
      /exit code 2; is the runner image older than the operator\?\): loadlm: unknown option --config-env/,
    );
    const failedRun = runnerPod(1, { kind: 'terminated', exitCode: 3, reason: 'Error' });
    const results = mergeRunnerResults(
      [
        decodeResultConfigMap(
          resultCm(
            1,
            runnerResult(statsOf([request()]), {
              shard: { index: 1, count: 2 },
              status: 'failed',
              exitCode: 3,
              messages: ['target mistral-7b: no request completed in the measured window'],
            }),
          ),
        ),
      ],
      expected,
    );
    const run = detect([running(0), failedRun], seconds(400), { results });
    assert.equal(run?.reason, 'RunFailed');
    assert.match(run?.message ?? '', /exit code 3\): target mistral-7b: no request completed in the measured window/);
    const sigterm = runnerPod(0, { kind: 'terminated', exitCode: 143, reason: 'Error' });
    assert.equal(detect([sigterm, running(1)], seconds(100))?.reason, 'RunnerInterrupted');
    const crashed = runnerPod(0, {
      kind: 'terminated',
      exitCode: 1,
      reason: 'Error',
      message: 'TypeError: x is not a function',
    });
    assert.match(detect([crashed, running(1)], seconds(100))?.message ?? '', /exited with code 1 \(Error\): TypeError/);
  });

  it('TargetUnreachable and AllRequestsFailing from the partial results, with the target and a hint', () => {
    const failing = (errorClass: 'connect' | 'http', httpStatus?: number) =>
      mergeRunnerResults(
        [0, 1].map((i) =>
          decodeResultConfigMap(
            resultCm(
              i,
              runnerResult(
                statsOf(
                  Array.from({ length: 6 }, () =>
                    request({ ok: false, errorClass, ...(httpStatus ? { httpStatus } : {}) }),
                  ),
                ),
                { shard: { index: i, count: 2 }, final: false },
              ),
            ),
          ),
        ),
        expected,
      );
    const unreachable = detect([running(0), running(1)], seconds(60), { results: failing('connect') });
    assert.equal(unreachable?.reason, 'TargetUnreachable');
    assert.match(
      unreachable?.message ?? '',
      /^all 12 requests to target mistral-7b \(http:\/\/mistral-7b-predictor\.development\.svc\.cluster\.local:8012\/v1\) failed, 12 could not connect/,
    );
    const refused = detect([running(0), running(1)], seconds(60), { results: failing('http', 401) });
    assert.equal(refused?.reason, 'AllRequestsFailing');
    assert.match(
      refused?.message ?? '',
      /failed \(http ×12; HTTP 401 ×12\): the server refused the credentials; check spec\.targets\[0\]\.apiKeySecretRef/,
    );
    // Below the minimum number of requests nothing is concluded yet.
    const few = mergeRunnerResults(
      [
        decodeResultConfigMap(
          resultCm(0, runnerResult(statsOf([request({ ok: false })]), { shard: { index: 0, count: 2 }, final: false })),
        ),
      ],
      expected,
    );
    assert.equal(detect([running(0), running(1)], seconds(60), { results: few }), undefined);
  });

  it('MaxErrorsReached when a runner stopped at spec.load.maxErrors', () => {
    const limited = loadTest({
      parallelism: 2,
      load: { profile: 'constant', rate: 10, durationSeconds: 300, maxErrors: 5 },
    });
    const stats = statsOf([
      request(),
      ...Array.from({ length: 5 }, () => request({ ok: false, errorClass: 'timeout' })),
    ]);
    const results = mergeRunnerResults(
      [
        decodeResultConfigMap(
          resultCm(
            0,
            runnerResult(stats, {
              shard: { index: 0, count: 2 },
              stopReason: 'maxErrors',
              status: 'failed',
              exitCode: 3,
            }),
          ),
        ),
      ],
      expectedRunners(limited),
    );
    const failure = detect([running(0), running(1)], seconds(60), { results }, limited);
    assert.equal(failure?.reason, 'MaxErrorsReached');
    assert.match(
      failure?.message ?? '',
      /runner 0 stopped after 5 failed requests \(spec\.load\.maxErrors is 5 per runner\)/,
    );
  });

  it('StartupDeadlineExceeded lists the runners not ready, unless a more specific reason is known', () => {
    const notReady = runnerPod(1, { kind: 'running', ready: false });
    const ready = mergeRunnerResults([decodeResultConfigMap(resultCm(0, undefined, 'Ready'))], expected);
    const before = { started: false, results: ready };
    assert.equal(detect([running(0), notReady], seconds(299), before), undefined);
    const failure = detect([running(0), notReady], seconds(300), before);
    assert.equal(failure?.reason, 'StartupDeadlineExceeded');
    assert.equal(
      failure?.message,
      '1 of 2 runners were ready within spec.startupDeadlineSeconds (300s): runner 1 (pod nightly-runners-1-x7k2p): Running, not ready',
    );
    const noPod = detect([running(0)], seconds(300), before);
    assert.match(
      noPod?.message ?? '',
      /runner 1: no pod \(the Job controller did not create it: see the events of Job nightly-runners/,
    );
    const creating = runnerPod(1, { kind: 'waiting', reason: 'ContainerCreating' });
    assert.match(detect([running(0), creating], seconds(300), before)?.message ?? '', /Pending: ContainerCreating/);
  });

  it('parses the Job’s completed index ranges', () => {
    assert.deepEqual([...parseIndexes('0,2-4,7')], [0, 2, 3, 4, 7]);
    assert.deepEqual([...parseIndexes('')], []);
  });
});
