/** Converters for flag values; each error names the flag and what was expected. */
import { UsageError } from './errors.ts';

const hint = "Run 'loadlm run --help' for the options.";

export function flagError(flag: string, message: string): UsageError {
  return new UsageError(`--${flag}: ${message}`, hint);
}

export function parseNumberFlag(
  flag: string,
  text: string,
  { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY, integer = false, exclusiveMin = false } = {},
): number {
  const what = `${integer ? 'an integer' : 'a number'}${describeRange(min, max, exclusiveMin)}`;
  const n = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)))
    throw flagError(flag, `expected ${what}, got "${text}"`);
  if (n < min || n > max || (exclusiveMin && n === min)) throw flagError(flag, `expected ${what}, got ${text}`);
  return n;
}

function describeRange(min: number, max: number, exclusiveMin: boolean): string {
  const lo = Number.isFinite(min) ? `${exclusiveMin ? '>' : '≥'} ${min}` : '';
  const hi = Number.isFinite(max) ? `≤ ${max}` : '';
  if (lo && hi) return ` ${lo} and ${hi}`;
  return lo || hi ? ` ${lo || hi}` : '';
}

const durationUnits: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** `90`, `90s`, `1.5m`, `2h`, `500ms` → seconds. Throws a plain Error (callers prefix the field). */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`expected a duration such as 90, 90s, 5m, 1h or 500ms, got "${text}"`);
  return Number(m[1]) * (durationUnits[m[2] ?? 's'] ?? 1);
}

/**
 * Longest duration any flag takes: 7 days, the CRD's longest run. It also keeps every timer below Node's
 * setTimeout limit (about 24.8 days), beyond which a timer fires after 1 ms instead.
 */
export const maxDurationSeconds = 7 * 24 * 3600;

export function parseDurationFlag(
  flag: string,
  text: string,
  { min = 0, allowZero = true, max = maxDurationSeconds } = {},
): number {
  let seconds: number;
  try {
    seconds = parseDuration(text);
  } catch (err) {
    throw flagError(flag, (err as Error).message);
  }
  if (seconds < min || (!allowZero && seconds === 0)) {
    throw flagError(flag, `expected a duration ${allowZero || min > 0 ? '≥' : '>'} ${min}s, got ${text}`);
  }
  if (seconds > max) throw flagError(flag, `expected a duration ≤ ${formatSeconds(max)}, got ${text}`);
  return seconds;
}

function formatSeconds(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

export function parseEnumFlag<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(text)) return text as T;
  throw flagError(flag, `expected one of ${allowed.join(', ')}, got "${text}"`);
}

export function parseUrlFlag(flag: string, text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw flagError(flag, `expected an absolute http(s) URL, got "${safeForMessage(text)}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw flagError(flag, `expected an http or https URL, got protocol ${u.protocol}`);
  }
  return text;
}

/** URLs may carry `user:password@`; keep those out of messages. */
export function safeForMessage(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//REDACTED@');
}
