/**
 * `loadlm run` as a runner of the operator's Job (operator/loadtest/README.md): the config from an env var,
 * target and shard from the Job index, results and the start barrier through ConfigMaps (runner/handoff),
 * and a termination message for the pod when the process fails.
 */
import { writeFileSync } from 'node:fs';
import type { RunPlan } from '../config/plan.ts';
import { ConfigError, resolveRunPlan } from '../config/resolve.ts';
import { runnerAssignment } from '../handoff/assignment.ts';
import type { RunnerHandoff } from '../handoff/index.ts';
import { UsageError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { HandoffOptions, RunCommandOptions } from './run-options.ts';
import { flagError } from './values.ts';

const hint = "Run 'loadlm run --help' for the options.";

/** The YAML text of --config-env; unset or empty is a usage error naming the flag and the variable. */
export function configFromEnv(name: string, env: NodeJS.ProcessEnv): string {
  const text = env[name];
  if (text === undefined || text.trim() === '') {
    throw flagError('config-env', `environment variable ${name} is not set or empty (expected the YAML config)`);
  }
  return text;
}

/**
 * Resolves the plan from --config/--config-env and the overrides; with --job-index the index picks the target
 * (in the environment's order) and the shard, so the config is resolved once for the target names first.
 */
export function resolvePlanForRun(options: RunCommandOptions, env: NodeJS.ProcessEnv): RunPlan {
  const source =
    options.configEnv !== undefined
      ? { configText: configFromEnv(options.configEnv, env) }
      : options.configPath !== undefined
        ? { configPath: options.configPath }
        : {};
  try {
    const plan = resolveRunPlan({ ...source, overrides: options.overrides, env });
    if (!options.runnerIndex) return plan;
    const { jobIndex, runnersPerTarget } = options.runnerIndex;
    let assignment: ReturnType<typeof runnerAssignment>;
    try {
      assignment = runnerAssignment(
        jobIndex,
        runnersPerTarget,
        plan.targets.map((t) => t.name),
      );
    } catch (err) {
      throw flagError('job-index', (err as Error).message);
    }
    const overrides = {
      ...options.overrides,
      targetName: assignment.target,
      engine: { ...options.overrides.engine, share: assignment.shard },
    };
    return resolveRunPlan({ ...source, overrides, env });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message, hint);
    throw err;
  }
}

/**
 * The pod's hand-off; a missing identity variable is a usage error (the Job sets them all). The Kubernetes
 * client is loaded here, not at startup: it takes most of a second, which a laptop run or a usage error
 * should not pay.
 */
export async function startHandoff(
  handoff: HandoffOptions,
  env: NodeJS.ProcessEnv,
  logger: Logger,
): Promise<RunnerHandoff> {
  const { createRunnerHandoff, handoffIdentityFromEnv } = await import('../handoff/index.ts');
  const { KubeConfig } = await import('@kubernetes/client-node');
  let identity: ReturnType<typeof handoffIdentityFromEnv>;
  try {
    identity = handoffIdentityFromEnv(env);
  } catch (err) {
    throw flagError('result-configmap', (err as Error).message);
  }
  // KUBECONFIG when set (the test pod executor), else the in-cluster ServiceAccount.
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  logger.info(
    { namespace: identity.namespace, loadtest: identity.loadTest.name, index: identity.index, ...handoff },
    'kubernetes hand-off',
  );
  return createRunnerHandoff({
    kubeConfig,
    identity,
    resultConfigMap: handoff.resultConfigMap,
    ...(handoff.startSignal !== undefined ? { startSignal: handoff.startSignal } : {}),
    startTimeoutMs: handoff.startTimeoutSeconds * 1000,
    onRetry: (what, error) => logger.warn({ what, err: error.message }, 'hand-off API call failed; retrying'),
  });
}

/** Where Kubernetes reads a container's termination message from (the test executor sets the variable). */
export function terminationMessagePath(env: NodeJS.ProcessEnv): string {
  return env.LOADLM_TERMINATION_MESSAGE_PATH ?? '/dev/termination-log';
}

/** Best effort: a missing or read-only path must not change the exit code. Kubernetes keeps 4096 bytes. */
export function writeTerminationMessage(message: string, env: NodeJS.ProcessEnv): void {
  try {
    writeFileSync(terminationMessagePath(env), message.slice(0, 4000));
  } catch {
    // Not in a pod, or no termination log: the message is in the logs as well.
  }
}

/** Whether argv asks for the operator hand-off (decided before parsing, so usage errors get a message too). */
export function wantsHandoff(argv: readonly string[]): boolean {
  return argv.some((arg) => arg === '--result-configmap' || arg.startsWith('--result-configmap='));
}
