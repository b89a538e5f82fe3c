/**
 * The operator's pino logger: JSON lines on stdout with ISO timestamps and string levels. Redaction covers
 * authorization headers, tokens and API keys by path; it cannot see inside message strings, so never
 * interpolate a secret into a message.
 */
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

export const redactPaths = [
  'authorization',
  'headers.authorization',
  'token',
  'apiKey',
  '*.authorization',
  '*.token',
  '*.apiKey',
  '*.headers',
];

export function createLogger(options: { level?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'loadlm-operator',
      level: options.level ?? 'info',
      redact: { paths: redactPaths, censor: '(redacted)' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
