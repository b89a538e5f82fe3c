/**
 * A test-only runner image (see result-faults.test.ts): the runner at index LOADLM_TEST_FAULT_INDEX of the
 * Job misbehaves on purpose, every other index runs the real runner with the same arguments. The faulty one
 * takes part in the start barrier like a real runner (phase Ready, then waits for the start signal) and then:
 * - LOADLM_TEST_FAULT=corrupt: at the start time, writes phase Finished with a result.json that is not JSON;
 * - LOADLM_TEST_FAULT=missing: exits 0 at the start time without ever writing a result.
 * Either way it exits 0, so the Job completes and only the result tells what went wrong.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import {
  configMapApi,
  createRunnerHandoff,
  handoffIdentityFromEnv,
  resultConfigMap,
  resultKeys,
  runnerFieldManager,
} from '../../../runner/handoff/index.ts';

const runnerMain = join(import.meta.dirname, '..', '..', '..', 'runner', 'main.ts');

/** Runs the real runner in the foreground, passing signals on, and exits as it does. */
function runRealRunner(args: string[]): void {
  const child = spawn(process.execPath, [runnerMain, ...args], { stdio: 'inherit' });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal === 'SIGTERM' ? 143 : 130);
  });
}

async function misbehave(fault: string, args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    strict: false,
    options: {
      'result-configmap': { type: 'string' },
      'start-signal': { type: 'string' },
      'start-timeout': { type: 'string' },
    },
  });
  const resultName = String(values['result-configmap']);
  const identity = handoffIdentityFromEnv(process.env);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const handoff = createRunnerHandoff({
    identity,
    kubeConfig,
    resultConfigMap: resultName,
    startSignal: String(values['start-signal']),
    startTimeoutMs: Number.parseInt(String(values['start-timeout'] ?? '60'), 10) * 1000,
  });
  const startAtMs = (await handoff.awaitStart()) ?? Date.now();
  await sleep(Math.max(0, startAtMs - Date.now()));
  process.stderr.write(`fault-runner: runner ${identity.index} plays "${fault}"\n`);
  if (fault === 'missing') return;
  const body = resultConfigMap({
    name: resultName,
    namespace: identity.namespace,
    loadTest: identity.loadTest,
    index: identity.index,
    ...(identity.pod ? { pod: identity.pod } : {}),
    phase: 'Finished',
  });
  body.data = { ...body.data, [resultKeys.json]: '{"apiVersion":"loadlm.dev/v1alpha1","kind":"RunnerResult","fi' };
  await configMapApi(kubeConfig).apply(body, { fieldManager: runnerFieldManager, force: true });
}

const args = process.argv.slice(2);
const fault = process.env.LOADLM_TEST_FAULT ?? '';
if (process.env.JOB_COMPLETION_INDEX !== process.env.LOADLM_TEST_FAULT_INDEX) {
  runRealRunner(args);
} else {
  misbehave(fault, args).catch((error: unknown) => {
    process.stderr.write(`fault-runner: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}
