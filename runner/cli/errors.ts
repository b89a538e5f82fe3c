import { ExitCode } from './exit-codes.ts';

/** Bad command line or configuration: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  readonly exitCode = ExitCode.Usage;
  /** Printed after the message, e.g. "Run 'loadlm run --help' for the options." */
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'UsageError';
    this.hint = hint;
  }
}
