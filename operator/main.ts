#!/usr/bin/env -S node --optimize-for-size
/**
 * `loadlm-operator`: the LoadTest and ObservabilityStack controllers on the operator runtime (`--controllers`
 * picks which). Configuration from flags and env
 * (operator/config.ts); leader election on a Lease unless disabled; /healthz, /readyz and /metrics; graceful
 * shutdown on SIGTERM/SIGINT.
 *
 * --optimize-for-size (shebang, so the image's entry point has it): a 1 MB young generation and slower heap
 * growth. The operator's heap is mostly its caches and its work comes in bursts: with 1,000 LoadTests cached,
 * RSS 137 MB instead of about 330 MB (bench:operator), for a little more CPU on a burst.
 */
import { ConfigError, controllerNames, type OperatorConfig, parseConfig, usage } from './config.ts';
import { registerLoadTestController } from './loadtest/controller.ts';
import { registerObservabilityStackController } from './observability/controller.ts';
import { createLogger } from './runtime/logger.ts';
import { Manager, type ManagerOptions } from './runtime/manager.ts';

export interface RunningOperator {
  manager: Manager;
  stop(): Promise<void>;
}

/** Builds and starts the operator (also used in-process by tests). */
export async function startOperator(
  config: OperatorConfig,
  extra: Partial<Pick<ManagerOptions, 'connection' | 'kubeConfig' | 'logger'>> = {},
): Promise<RunningOperator> {
  const logger = extra.logger ?? createLogger({ level: config.logLevel });
  const manager = await Manager.create({
    ...(extra.connection ? { connection: extra.connection } : {}),
    ...(extra.kubeConfig ? { kubeConfig: extra.kubeConfig } : {}),
    logger,
    namespaces: config.namespaces,
    leaderElection: config.leaderElectionNamespace
      ? { namespace: config.leaderElectionNamespace, name: config.leaderElectionName }
      : false,
    http: { port: config.httpPort, host: config.httpHost },
  });
  const controllers = config.controllers ?? controllerNames;
  if (controllers.includes('loadtest')) {
    registerLoadTestController(manager, {
      runnerImage: config.runnerImage,
      runnerLogLevel: config.logLevel === 'silent' ? 'error' : config.logLevel,
      progressIntervalMs: config.progressIntervalMs,
      maxConcurrentReconciles: config.maxConcurrentReconciles,
      ...(config.runnerLingerSeconds !== undefined
        ? { timings: { metricsLingerSeconds: config.runnerLingerSeconds } }
        : {}),
    });
  }
  if (controllers.includes('observabilitystack')) {
    registerObservabilityStackController(manager, { watchedNamespaces: config.namespaces });
  }
  await manager.start();
  return { manager, stop: () => manager.stop() };
}

async function main(): Promise<void> {
  let config: OperatorConfig | 'help';
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`loadlm-operator: ${error.message}\n`);
    process.exitCode = 2;
    return;
  }
  if (config === 'help') {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  const operator = await startOperator(config);
  operator.manager.stopOnSignals();
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`loadlm-operator: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
