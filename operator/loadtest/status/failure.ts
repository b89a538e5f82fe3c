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
import { parseQuantity } from '../../../api/quantity.ts';
import type { ObservedJob, Pod } from '../desired/kube-types.ts';
import { runnerJobName } from '../desired/names.ts';
import { expectedRunners } from '../desired/plan.ts';
import { formatBytes } from '../desired/resources.ts';
import { targetUrl } from '../desired/runner-config.ts';
import {
  describeRunner,
  isPodTerminal,
  messageTail,
  podCondition,
  podStateText,
  podsByIndex,
  runnerContainer,
} from './pods.ts';
import { type MergedResults, requestsSoFar } from './results.ts';

export interface RunnerFailure {
  reason: string;
  message: string;
  /** The runner at fault, when one is. */
  index?: number;
}

export interface FailureObservations {
  pods: readonly Pod[];
  job?: ObservedJob;
  /** The latest merge of the runners' results (partial while running). */
  results?: MergedResults;
  /** The start signal was written: runners were told to start. */
  started: boolean;
  /** When startup began: the runner Job's creationTimestamp, or the LoadTest's while there is no Job. */
  startupBeganAt?: string;
}

export interface FailureDetectionOptions {
  /** ErrImagePull / ImagePullBackOff for this long → ImagePullBackOff. Default 60. */
  imagePullGraceSeconds?: number;
  /** CreateContainerConfigError (missing Secret or key) for this long → SecretNotFound, .... Default 30. */
  configErrorGraceSeconds?: number;
  /** PodScheduled=False for this long → Unschedulable. Default 120 (room for a cluster autoscaler). */
  unschedulableGraceSeconds?: number;
  /** A target with no successful request and at least this many failed ones is failing. Default 10. */
  allFailingMinRequests?: number;
}

const defaults: Required<FailureDetectionOptions> = {
  imagePullGraceSeconds: 60,
  configErrorGraceSeconds: 30,
  unschedulableGraceSeconds: 120,
  allFailingMinRequests: 10,
};

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

export function detectRunnerFailure(
  obs: FailureObservations,
  now: Date | number,
  lt: LoadTest,
  options: FailureDetectionOptions = {},
): RunnerFailure | undefined {
  const o = { ...defaults, ...options };
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
      const problem = waitingProblem(index, pod, lt, defaults);
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

// ------------------------------------------------------------------------------------------------ results

function resultFailure(results: MergedResults, lt: LoadTest, minRequests: number): RunnerFailure | undefined {
  const namespace = lt.metadata.namespace ?? '';
  for (const [targetIndex, target] of lt.spec.targets.entries()) {
    const runners = results.runners.filter((runner) => runner.target === target.name);
    if (runners.length === 0) continue;
    let ok = 0;
    let failed = 0;
    for (const runner of runners) {
      const so = requestsSoFar(runner);
      ok += so.ok;
      failed += so.failed;
    }
    if (ok > 0 || failed < minRequests) continue;
    const errors: Record<string, number> = {};
    const statuses: Record<string, number> = {};
    for (const runner of runners) {
      for (const [cls, n] of Object.entries(runner.counts?.errors ?? runner.stats.errors)) {
        if (n > 0) errors[cls] = (errors[cls] ?? 0) + n;
      }
      for (const [status, n] of Object.entries(runner.stats.httpStatus)) statuses[status] = (statuses[status] ?? 0) + n;
    }
    const classified = Object.values(errors).reduce((a, b) => a + b, 0) || failed;
    const sample = runners.flatMap((runner) => runner.messages).find((message) => message.includes(target.name));
    const where = describeTarget(target.name, targetIndex, lt, namespace);
    const detail = sample ? ` Runner says: ${messageTail(sample, 300)}` : '';
    if ((errors.connect ?? 0) * 2 >= classified) {
      return {
        reason: 'TargetUnreachable',
        message:
          `all ${failed} requests to ${where} failed, ${errors.connect ?? 0} could not connect: check the URL or ` +
          `serviceRef, that the server is up, and NetworkPolicies between the runners and it.${detail}`,
      };
    }
    const classes = Object.entries(errors)
      .sort((a, b) => b[1] - a[1])
      .map(([cls, n]) => `${cls} ×${n}`)
      .join(', ');
    const httpErrors = Object.entries(statuses).filter(([status]) => Number(status) >= 400);
    const statusText = httpErrors.map(([status, n]) => `HTTP ${status} ×${n}`).join(', ');
    return {
      reason: 'AllRequestsFailing',
      message:
        `all ${failed} requests to ${where} failed (${[classes, statusText].filter(Boolean).join('; ')})` +
        `${hintForStatuses(
          httpErrors.map(([status]) => Number(status)),
          targetIndex,
        )}.${detail}`,
    };
  }
  const stopped = results.runners.find((runner) => runner.final && runner.stopReason === 'maxErrors');
  if (stopped) {
    return {
      reason: 'MaxErrorsReached',
      message:
        `${describeRunner(stopped.index)} stopped after ${requestsSoFar(stopped).failed} failed requests ` +
        `(spec.load.maxErrors is ${lt.spec.load.maxErrors ?? '?'} per runner)` +
        (stopped.messages[0] ? `: ${messageTail(stopped.messages[0], 300)}` : ''),
      index: stopped.index,
    };
  }
  return undefined;
}

function describeTarget(name: string, index: number, lt: LoadTest, namespace: string): string {
  const target = lt.spec.targets[index];
  try {
    return target ? `target ${name} (${redact(targetUrl(target, index, namespace))})` : `target ${name}`;
  } catch {
    return `target ${name}`;
  }
}

function redact(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//REDACTED@');
}

function hintForStatuses(statuses: number[], targetIndex: number): string {
  if (statuses.some((s) => s === 401 || s === 403)) {
    return `: the server refused the credentials; check spec.targets[${targetIndex}].apiKeySecretRef and the key in the Secret`;
  }
  if (statuses.includes(404)) {
    return `: check spec.targets[${targetIndex}].model (a wrong model name gives 404 on vLLM) and the URL path`;
  }
  if (statuses.includes(429)) return ': the server rate-limits the runners; lower the load or raise its limits';
  if (statuses.some((s) => s >= 500)) return ': the server fails; see its logs';
  return '';
}

// --------------------------------------------------------------------------------------------------- pods

function oomKilled(index: number, pod: Pod): RunnerFailure {
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

function terminatedFailure(index: number, pod: Pod, results: MergedResults | undefined): RunnerFailure | undefined {
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

interface WaitingProblem {
  reason: string;
  message: string;
  permanent: boolean;
  sinceMs: number;
  graceSeconds: number;
}

function waitingProblem(
  index: number,
  pod: Pod,
  lt: LoadTest,
  o: Required<FailureDetectionOptions>,
): WaitingProblem | undefined {
  const who = describeRunner(index, pod);
  const created = Date.parse(pod.metadata.creationTimestamp ?? '');
  const scheduled = podCondition(pod, 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    const since = Date.parse(scheduled.lastTransitionTime ?? '') || created;
    return {
      reason: 'Unschedulable',
      message:
        `${who} cannot be scheduled: ${scheduled.message ?? 'no node fits'}. Check spec.runner.nodeSelector, ` +
        'spec.runner.tolerations and spec.runner.resources.requests against the nodes',
      permanent: false,
      sinceMs: since,
      graceSeconds: o.unschedulableGraceSeconds,
    };
  }
  const container = runnerContainer(pod);
  const waiting = container?.state?.waiting;
  if (!waiting?.reason) return undefined;
  const image = container?.image ?? pod.spec?.containers?.[0]?.image ?? '?';
  switch (waiting.reason) {
    case 'InvalidImageName':
    case 'ErrImageNeverPull':
      return {
        reason: waiting.reason === 'InvalidImageName' ? 'InvalidImageName' : 'ImagePullBackOff',
        message: `${who}: image "${image}" cannot be used: ${waiting.message ?? waiting.reason}. Check spec.runner.image and spec.runner.imagePullPolicy`,
        permanent: true,
        sinceMs: created,
        graceSeconds: 0,
      };
    case 'ErrImagePull':
    case 'ImagePullBackOff':
    case 'RegistryUnavailable':
    case 'SignatureValidationFailed':
      return {
        reason: 'ImagePullBackOff',
        message:
          `${who}: cannot pull image "${image}": ${waiting.message ?? waiting.reason}. Check spec.runner.image ` +
          "(or the operator's runner image) and spec.runner.imagePullSecrets",
        permanent: false,
        sinceMs: created,
        graceSeconds: o.imagePullGraceSeconds,
      };
    case 'CreateContainerConfigError':
      return {
        ...configError(who, waiting.message ?? '', lt),
        permanent: false,
        sinceMs: created,
        graceSeconds: o.configErrorGraceSeconds,
      };
    case 'CreateContainerError':
    case 'RunContainerError':
      return {
        reason: 'RunnerFailed',
        message: `${who}: the container could not be created: ${waiting.message ?? waiting.reason}`,
        permanent: false,
        sinceMs: created,
        graceSeconds: o.configErrorGraceSeconds,
      };
    default:
      return undefined;
  }
}

/** The kubelet's CreateContainerConfigError messages, tied back to the spec field that caused them. */
function configError(who: string, message: string, lt: LoadTest): { reason: string; message: string } {
  const namespace = lt.metadata.namespace ?? '';
  const secretMissing = /^secret "([^"]+)" not found/.exec(message);
  const secretKey = /^couldn't find key (\S+) in Secret [^/\s]+\/(\S+)/.exec(message);
  const configMapMissing = /^configmap "([^"]+)" not found/.exec(message);
  const configMapKey = /^couldn't find key (\S+) in ConfigMap [^/\s]+\/(\S+)/.exec(message);
  const fieldOfSecret = (name: string) =>
    lt.spec.targets
      .map((target, i) => (target.apiKeySecretRef?.name === name ? `spec.targets[${i}].apiKeySecretRef` : undefined))
      .filter(Boolean)
      .join(', ') || 'spec.runner.env';
  if (secretMissing?.[1]) {
    return {
      reason: 'SecretNotFound',
      message: `${who}: Secret ${namespace}/${secretMissing[1]} (${fieldOfSecret(secretMissing[1])}) does not exist: create it, or fix the reference in a new LoadTest`,
    };
  }
  if (secretKey?.[1] && secretKey[2]) {
    return {
      reason: 'SecretKeyNotFound',
      message: `${who}: Secret ${namespace}/${secretKey[2]} (${fieldOfSecret(secretKey[2])}) has no key "${secretKey[1]}"`,
    };
  }
  if (configMapMissing?.[1] || configMapKey?.[2]) {
    const name = configMapMissing?.[1] ?? configMapKey?.[2] ?? '';
    return {
      reason: configMapMissing ? 'ConfigMapNotFound' : 'ConfigMapKeyNotFound',
      message: `${who}: ConfigMap ${namespace}/${name}: ${message} (the runner config is made by the operator; was it deleted?)`,
    };
  }
  return {
    reason: 'CreateContainerConfigError',
    message: `${who}: ${message || 'the container could not be configured'}`,
  };
}

// ---------------------------------------------------------------------------------------------------- job

function isJobFinished(job: ObservedJob): boolean {
  return (job.status?.conditions ?? []).some(
    (condition) => (condition.type === 'Complete' || condition.type === 'Failed') && condition.status === 'True',
  );
}

function jobFailed(job: ObservedJob, lt: LoadTest, runners: number): RunnerFailure | undefined {
  const condition = (job.status?.conditions ?? []).find(
    (c) => (c.type === 'Failed' || c.type === 'FailureTarget') && c.status === 'True',
  );
  if (!condition) return undefined;
  const name = job.metadata.name || runnerJobName(lt.metadata.name ?? '', runners);
  if (condition.reason === 'DeadlineExceeded') {
    const seconds = job.spec?.activeDeadlineSeconds;
    return {
      reason: 'DeadlineExceeded',
      message:
        `runner Job ${name} ran longer than its activeDeadlineSeconds${seconds ? ` (${seconds}s)` : ''} and was ` +
        'stopped: raise spec.activeDeadlineSeconds, or check why the run took longer than planned (a slow server ' +
        'holds requests open)',
    };
  }
  return {
    reason: 'RunnerFailed',
    message: `runner Job ${name} failed: ${condition.reason ?? 'Failed'}${condition.message ? `: ${condition.message}` : ''}`,
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
