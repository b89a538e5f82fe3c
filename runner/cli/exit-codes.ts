/**
 * Process exit codes of `loadlm`. Stable: the operator and CI pipelines read them.
 *
 * | code | meaning |
 * | ---- | ------- |
 * | 0    | the run completed and every SLO given held (or none was given); continuous mode stopped by a signal |
 * | 1    | the run completed but at least one SLO was breached |
 * | 2    | usage error: bad flag, bad config, unknown environment, unset variable; nothing was sent |
 * | 3    | the run failed: no request succeeded (target unreachable, every request an error), or an internal error |
 * | 130  | one-shot run interrupted by SIGINT (128 + 2); the report of what was measured is still written |
 * | 143  | one-shot run interrupted by SIGTERM (128 + 15); the report is still written |
 *
 * A second signal exits at once with the same 130/143 without waiting for in-flight requests.
 */
export const ExitCode = {
  Success: 0,
  SloBreached: 1,
  Usage: 2,
  RunFailed: 3,
  Interrupted: 130,
  Terminated: 143,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Exit code for a run stopped by `signal`. */
export function exitCodeForSignal(signal: NodeJS.Signals): ExitCodeValue {
  return signal === 'SIGINT' ? ExitCode.Interrupted : ExitCode.Terminated;
}
