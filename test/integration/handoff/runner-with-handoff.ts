/**
 * What `loadlm run` does once the hand-off flags of operator/loadtest/README.md are wired, standing in for the
 * runner image in the rendered Job (the pod executor maps the image to this file): it takes the Job's args
 * unchanged, reads the config from the env var, reports ready and waits for the start signal, then runs the
 * real engine through runSession with the ConfigMap result sink and the agreed start time.
 *
 * Differences from the final wiring (for the lead): here the barrier runs before runSession, so /metrics
 * comes up only after the start; inside runSession it would come first and make the pod Ready earlier.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { parseFlags } from '../../../runner/cli/args.ts';
import { createLogger } from '../../../runner/cli/logger.ts';
import { runCommand } from '../../../runner/cli/run-flags.ts';
import { runOptionsFromFlags } from '../../../runner/cli/run-options.ts';
import { parseDuration } from '../../../runner/cli/values.ts';
import { resolveRunPlan } from '../../../runner/config/resolve.ts';
import { createRunnerHandoff, handoffIdentityFromEnv, runnerAssignment } from '../../../runner/handoff/index.ts';
import { runSession } from '../../../runner/modes/session.ts';

const handoffFlags = new Set([
  'config-env',
  'result-configmap',
  'start-signal',
  'start-timeout',
  'job-index',
  'runners-per-target',
]);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'run') throw new Error(`expected the run command, got ${command}`);
  const handoff: Record<string, string> = {};
  const runArgs: string[] = [];
  for (const arg of rest) {
    const match = /^--([^=]+)=(.*)$/s.exec(arg);
    if (match?.[1] && handoffFlags.has(match[1])) handoff[match[1]] = match[2] ?? '';
    else runArgs.push(arg);
  }
  const options = runOptionsFromFlags(parseFlags(runCommand, runArgs));
  const configEnv = handoff['config-env'] ?? '';
  const configText = process.env[configEnv];
  if (!configText) throw new Error(`--config-env ${configEnv}: environment variable ${configEnv} is not set`);
  const identity = handoffIdentityFromEnv(process.env);
  if (handoff['job-index'] !== undefined) {
    // Several targets: the index picks the target (in config order) and the shard.
    const perTarget = Number(handoff['runners-per-target']);
    const config = parseYaml(configText) as { environments?: Record<string, { targets?: { name: string }[] }> };
    const targets = Object.values(config.environments ?? {})[0]?.targets?.map((target) => target.name) ?? [];
    const assignment = runnerAssignment(Number(handoff['job-index']), perTarget, targets);
    options.overrides.targetName = assignment.target;
    options.overrides.engine = { ...options.overrides.engine, share: assignment.shard };
  }
  const plan = resolveRunPlan({ configText, overrides: options.overrides, env: process.env });
  const logger = createLogger(options.logLevel);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const runner = createRunnerHandoff({
    kubeConfig,
    identity,
    resultConfigMap: handoff['result-configmap'] ?? '',
    ...(handoff['start-signal'] ? { startSignal: handoff['start-signal'] } : {}),
    startTimeoutMs: parseDuration(handoff['start-timeout'] ?? '300s') * 1000,
    onRetry: (what, error) => logger.warn({ what, error: error.message }, 'hand-off call failed; retrying'),
  });
  const startAtMs = await runner.awaitStart();
  logger.info({ startAt: startAtMs === undefined ? undefined : new Date(startAtMs).toISOString() }, 'start signal');
  if (startAtMs !== undefined) plan.load.startAt = startAtMs;
  return runSession({ plan, options, logger, sink: runner.sink });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (error: unknown) => {
    process.stderr.write(`loadlm: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(3);
  },
);
