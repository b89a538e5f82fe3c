/** Subcommand dispatch; returns the process exit code. */
import { UsageError } from './errors.ts';
import { ExitCode } from './exit-codes.ts';
import { runnerVersion } from './version.ts';

export const topLevelHelp = `Usage: loadlm <command> [options]

A precise load generator for OpenAI-compatible LLM endpoints (vLLM and others), with live Prometheus
metrics, and a vLLM simulator.

Commands:
  run        Load-test one or more targets; summary on stdout, /metrics on :9090, JSON/CSV reports
  sim        Start the vLLM simulator (OpenAI-compatible API and vLLM metrics)
  compare    Compare reports or LoadTests (several kube contexts) side by side; HTML report with plots
  version    Print the version
  help       Show help for a command: loadlm help run

Options:
  -h, --help     Show this help
  -v, --version  Print the version

Exit codes: 0 success, 1 SLO breached, 2 usage error, 3 run failed, 130/143 interrupted.
Run 'loadlm run --help' or 'loadlm sim --help' for the options of a command.
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        return await help(command === 'help' ? rest[0] : undefined);
      case 'version':
      case '--version':
      case '-v':
        process.stdout.write(`loadlm ${runnerVersion}\n`);
        return ExitCode.Success;
      case 'run': {
        const { runCommandMain } = await import('./run-command.ts');
        return await runCommandMain(rest);
      }
      case 'sim': {
        const { simCommandMain } = await import('./sim-command.ts');
        return await simCommandMain(rest);
      }
      case 'compare': {
        const { compareCommandMain } = await import('./compare-command.ts');
        return await compareCommandMain(rest);
      }
      default:
        throw new UsageError(
          `unknown command '${command}' (expected run, sim, compare, version or help)`,
          "Run 'loadlm --help' for the commands.",
        );
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`loadlm: ${err.message}\n${err.hint ? `${err.hint}\n` : ''}`);
      return ExitCode.Usage;
    }
    throw err;
  }
}

async function help(command: string | undefined): Promise<number> {
  if (command === 'run') {
    const { renderHelp } = await import('./args.ts');
    const { runCommand } = await import('./run-flags.ts');
    process.stdout.write(renderHelp(runCommand));
    return ExitCode.Success;
  }
  if (command === 'sim') {
    const { renderHelp } = await import('./args.ts');
    const { simCommand } = await import('./sim-command.ts');
    process.stdout.write(renderHelp(simCommand(await import('../sim/index.ts'))));
    return ExitCode.Success;
  }
  if (command === 'compare') {
    const { renderHelp } = await import('./args.ts');
    const { compareCommand } = await import('./compare-command.ts');
    process.stdout.write(renderHelp(compareCommand));
    return ExitCode.Success;
  }
  if (command !== undefined) {
    throw new UsageError(`no help for unknown command '${command}' (expected run, sim or compare)`);
  }
  process.stdout.write(topLevelHelp);
  return ExitCode.Success;
}
