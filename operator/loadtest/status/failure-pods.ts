/**
 * Failures of runner pods that stopped: OOMKilled, a pod lost to its node, an eviction or the executor
 * (RunnerLost), a pod stopped at its own deadline, and runner exit codes (RunnerConfigInvalid, RunFailed,
 * RunnerInterrupted, RunnerKilled, RunnerFailed).
 */
import { parseQuantity } from '../../../api/quantity.ts';
import type { Pod } from '../desired/kube-types.ts';
import { formatBytes } from '../desired/resources.ts';
import type { RunnerFailure } from './failure-types.ts';
import { describeRunner, messageTail, podCondition, runnerContainer } from './pods.ts';
import type { MergedResults } from './results.ts';

/** Pod-level reasons of a pod that stopped for reasons outside the runner (kubelet, node, eviction, executor). */
const lostPodReasons = new Set([
  'Evicted',
  'NodeLost',
  'NodeShutdown',
  'Shutdown',
  'Terminated',
  'ExecutorLost',
  'UnexpectedAdmissionError',
  'Preempting',
  'OutOfcpu',
  'OutOfmemory',
]);

/** OOMKilled, naming the limit and the fields that help. */
export function oomKilled(index: number, pod: Pod): RunnerFailure {
  const limit = pod.spec?.containers?.find((c) => c.name === runnerContainer(pod)?.name)?.resources?.limits?.memory;
  const limitText = limit === undefined ? '' : ` with its memory limit ${formatLimit(limit)}`;
  return {
    reason: 'OOMKilled',
    message:
      `${describeRunner(index, pod)}: container ${runnerContainer(pod)?.name ?? 'runner'} ran out of memory` +
      `${limitText} and was killed: raise spec.runner.resources.limits.memory, or raise spec.parallelism to spread ` +
      'the load (open streams and long outputs cost memory)',
    index,
  };
}

function formatLimit(limit: string | number): string {
  const bytes = parseQuantity(limit);
  return typeof limit === 'string' || !Number.isFinite(bytes) ? String(limit) : formatBytes(bytes);
}

/** Why a runner pod that stopped did not succeed; undefined for exit code 0 or a pod still running. */
export function terminatedFailure(
  index: number,
  pod: Pod,
  results: MergedResults | undefined,
): RunnerFailure | undefined {
  const who = describeRunner(index, pod);
  const podReason = pod.status?.reason;
  if (podReason === 'DeadlineExceeded') {
    return {
      reason: 'DeadlineExceeded',
      message: `${who}: ran longer than its deadline and was stopped (${pod.status?.message ?? 'DeadlineExceeded'})`,
      index,
    };
  }
  const disrupted = podCondition(pod, 'DisruptionTarget');
  if ((podReason && lostPodReasons.has(podReason)) || disrupted?.status === 'True') {
    const why = [podReason ?? disrupted?.reason, pod.status?.message ?? disrupted?.message].filter(Boolean).join(': ');
    return {
      reason: 'RunnerLost',
      message: `${who}: the pod was lost during the run (${why || 'disrupted'}); a lost runner is not replaced, since that would send its share twice`,
      index,
    };
  }
  const terminated = runnerContainer(pod)?.state?.terminated;
  if (!terminated) {
    if (pod.status?.phase !== 'Failed') return undefined;
    return {
      reason: 'RunnerFailed',
      message: `${who}: the pod failed: ${pod.status?.message ?? 'no reason given'}`,
      index,
    };
  }
  if (terminated.exitCode === 0) return undefined;
  const code = terminated.exitCode;
  const tail = messageTail(terminated.message);
  const said = tail ? `: ${tail}` : '';
  const runnerMessages = results?.runners.find((runner) => runner.index === index)?.messages ?? [];
  if (code === 2) {
    return {
      reason: 'RunnerConfigInvalid',
      message: `${who}: the runner rejected its configuration (exit code 2; is the runner image older than the operator?)${said}`,
      index,
    };
  }
  if (code === 3) {
    const explained = runnerMessages.length > 0 ? `: ${messageTail(runnerMessages.join('; '), 400)}` : said;
    return { reason: 'RunFailed', message: `${who}: the run failed (exit code 3)${explained}`, index };
  }
  if (code === 130 || code === 143) {
    return {
      reason: 'RunnerInterrupted',
      message: `${who}: stopped by ${code === 143 ? 'SIGTERM' : 'SIGINT'} before the end of the run (was the pod deleted or its node drained?)`,
      index,
    };
  }
  if (terminated.reason === 'StartError' || terminated.reason === 'ContainerCannotRun') {
    return { reason: 'RunnerFailed', message: `${who}: the container could not start${said}`, index };
  }
  return {
    reason: code === 137 ? 'RunnerKilled' : 'RunnerFailed',
    message: `${who}: exited with code ${code}${code === 137 ? ' (SIGKILL)' : ''} (${terminated.reason ?? 'Error'})${said}`,
    index,
  };
}
