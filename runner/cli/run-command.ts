/** `loadlm run`: flags → config → plan → session (with the operator's Kubernetes hand-off when asked). */
import { parseFlags, renderHelp } from './args.ts';
import { UsageError } from './errors.ts';
import { ExitCode } from './exit-codes.ts';
import { resolvePlanForRun, startHandoff, wantsHandoff, writeTerminationMessage } from './handoff-run.ts';
import { createLogger } from './logger.ts';
import { runCommand } from './run-flags.ts';
import { runOptionsFromFlags } from './run-options.ts';

export async function runCommandMain(argv: string[]): Promise<number> {
  try {
    return await runWithOptions(argv);
  } catch (err) {
    // A runner pod's usage error (exit code 2) must reach the operator, not only the log.
    if (err instanceof UsageError && wantsHandoff(argv)) writeTerminationMessage(err.message, process.env);
    throw err;
  }
}

async function runWithOptions(argv: string[]): Promise<number> {
  const parsed = parseFlags(runCommand, argv);
  if (parsed.values.help === true) {
    process.stdout.write(renderHelp(runCommand));
    return ExitCode.Success;
  }
  const options = runOptionsFromFlags(parsed);
  const plan = resolvePlanForRun(options, process.env);
  const logger = createLogger(options.logLevel);
  // Loaded after every check passed, so a usage error answers without loading the engine and metrics.
  const { runSession } = await import('../modes/session.ts');
  if (!options.handoff) return runSession({ plan, options, logger });
  const handoff = await startHandoff(options.handoff, process.env, logger);
  return runSession({
    plan,
    options,
    logger,
    sink: handoff.sink,
    awaitStart: (signal) => handoff.awaitStart(signal),
    onFailure: (message) => writeTerminationMessage(message, process.env),
  });
}
