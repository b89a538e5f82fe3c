import { ExitCode } from '../cli/exit-codes.ts';

/**
 * Why `loadlm compare` could not compare. `exitCode` follows the runner's table: 2 when something the user
 * named is wrong or missing (a file, a context, a LoadTest, a flag), 3 when a source could not be read or is
 * not ready (API server unreachable, LoadTest not finished, no report).
 */
export class CompareError extends Error {
  readonly exitCode: number;
  readonly hint: string | undefined;
  constructor(message: string, exitCode: number = ExitCode.Usage, hint?: string) {
    super(message);
    this.name = 'CompareError';
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

/** Something the user named is wrong: exit 2. */
export function badInput(message: string, hint?: string): CompareError {
  return new CompareError(message, ExitCode.Usage, hint);
}

/** A source could not be read or is not ready: exit 3. */
export function unavailable(message: string, hint?: string): CompareError {
  return new CompareError(message, ExitCode.RunFailed, hint);
}
