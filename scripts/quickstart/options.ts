/** `npm run quickstart` flags. Bad input is a usage error (exit code 2) naming the flag. */
import { parseArgs } from 'node:util';

export interface QuickstartOptions {
  /** Tear everything down after the summary instead of leaving the cluster up. */
  down: boolean;
  /** Longest wait for the LoadTest to finish; default: its planned length plus a startup margin. */
  timeoutSeconds: number | undefined;
  help: boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export const usage = `usage: npm run quickstart [-- [--down] [--timeout SECONDS]]

The whole loadlm loop on this machine, no cluster or GPU needed:
  1. builds the local Kubernetes control plane if it is not cached (the first time: ~10 min on 2 cores),
     starts it and installs loadlm's CRDs;
  2. runs the loadlm operator (node operator/main.ts), a pod executor that runs runner pods as local
     processes, and \`loadlm sim\` as a stand-in vLLM;
  3. applies examples/quickstart.yaml (its target URL pointed at the simulator) and waits for it;
  4. prints \`kubectl get loadtests -o wide\` and the summary, then leaves the cluster up for exploration
     until Ctrl-C.

  --down               tear everything down after the summary and exit
  --timeout SECONDS    give up waiting for the LoadTest after this long
                       (default: its spec.load.durationSeconds + 120)
  -h, --help           this text

Exit codes: 0 the LoadTest succeeded; 1 it failed, breached its SLOs or timed out (its conditions are printed);
2 usage error.`;

export function parseQuickstartArgs(argv: string[]): QuickstartOptions {
  let values: { down?: boolean; timeout?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        down: { type: 'boolean' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  let timeoutSeconds: number | undefined;
  if (values.timeout !== undefined) {
    const text = values.timeout.trim();
    timeoutSeconds = Number(text);
    if (!/^\d+$/.test(text) || timeoutSeconds < 1) {
      throw new UsageError(`--timeout: expected a whole number of seconds (at least 1), got "${values.timeout}"`);
    }
  }
  return { down: values.down === true, timeoutSeconds, help: values.help === true };
}
