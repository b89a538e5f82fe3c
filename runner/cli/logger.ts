/**
 * pino JSON logs on stderr (stdout carries the summary table). Secrets: keys and header values are redacted
 * by path, and no message ever interpolates a key — redaction cannot see inside strings.
 */
import { type Logger, pino } from 'pino';

export type { Logger };

export const redactPaths = [
  'apiKey',
  'api_key',
  'authorization',
  'headers',
  '*.apiKey',
  '*.api_key',
  '*.authorization',
  '*.headers',
  '*.*.apiKey',
  '*.*.api_key',
  '*.*.headers',
];

export function createLogger(level: string, name = 'loadlm'): Logger {
  return pino(
    {
      name,
      level,
      redact: { paths: redactPaths, censor: '(redacted)' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    // Synchronous so that the last lines are on stderr before the process exits.
    pino.destination({ fd: 2, sync: true }),
  );
}
