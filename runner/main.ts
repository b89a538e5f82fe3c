#!/usr/bin/env -S node --max-semi-space-size=4
/** `loadlm` entry point: `run`, `sim`, `version`, `help`. Exit codes: see runner/cli/exit-codes.ts. */
import { main } from './cli/main.ts';

/** If a stray handle (a keep-alive socket, a timer) outlives the command, do not hang a Kubernetes Job on it. */
function exitSoon(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 5000).unref();
}

main(process.argv.slice(2)).then(exitSoon, (err: unknown) => {
  process.stderr.write(`loadlm: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  exitSoon(3);
});
