/** `loadlm run`: flags → config → plan → session. */
import { ConfigError, resolveRunPlan } from '../config/resolve.ts';
import { runSession } from '../modes/session.ts';
import { parseFlags, renderHelp } from './args.ts';
import { UsageError } from './errors.ts';
import { ExitCode } from './exit-codes.ts';
import { createLogger } from './logger.ts';
import { runCommand } from './run-flags.ts';
import { runOptionsFromFlags } from './run-options.ts';

export async function runCommandMain(argv: string[]): Promise<number> {
  const parsed = parseFlags(runCommand, argv);
  if (parsed.values.help === true) {
    process.stdout.write(renderHelp(runCommand));
    return ExitCode.Success;
  }
  const options = runOptionsFromFlags(parsed);
  let plan: ReturnType<typeof resolveRunPlan>;
  try {
    plan = resolveRunPlan({
      ...(options.configPath !== undefined ? { configPath: options.configPath } : {}),
      overrides: options.overrides,
      env: process.env,
    });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message, "Run 'loadlm run --help' for the options.");
    throw err;
  }
  const logger = createLogger(options.logLevel);
  return runSession({ plan, options, logger });
}
