/**
 * Failures the runners' own results show: every request to a target failing (TargetUnreachable when most could
 * not connect, AllRequestsFailing otherwise, with the HTTP statuses and a hint), and a runner that stopped at
 * spec.load.maxErrors (MaxErrorsReached).
 */
import type { LoadTest } from '../../../api/loadtest.ts';
import { targetUrl } from '../desired/runner-config.ts';
import type { RunnerFailure } from './failure-types.ts';
import { describeRunner, messageTail } from './pods.ts';
import { type MergedResults, requestsSoFar } from './results.ts';

/** The first target whose every request failed (at least `minRequests`), else a runner stopped at maxErrors. */
export function resultFailure(results: MergedResults, lt: LoadTest, minRequests: number): RunnerFailure | undefined {
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
