/** zod issues → one `field.path (from --flag): what is wrong` line each. */
import type { z } from 'zod';

/** `input` is the value that was validated; with it, a wrong value is quoted rather than called missing. */
export function formatIssues(
  error: z.ZodError,
  sources: Record<string, string>,
  configPath?: string,
  input?: unknown,
): string {
  const lines = error.issues.map((issue) => {
    // An unknown field is reported on its parent; name the field itself.
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const path = formatPath(keys.length === 1 ? [...issue.path, keys[0] as string] : issue.path);
    // The flag that set this field or the nearest enclosing one (`load.stages[0].rate` ← `load.stages`).
    let flag: string | undefined;
    for (let n = issue.path.length; n > 0 && flag === undefined; n--)
      flag = lookupSource(sources, issue.path.slice(0, n));
    const origin = flag ? ` (from ${flag})` : '';
    return `${path || '(config)'}${origin}: ${friendlyMessage(issue, path, input)}`;
  });
  const head = configPath ? `invalid configuration in ${configPath}:` : 'invalid configuration:';
  return lines.length === 1 ? (lines[0] as string) : `${head}\n  ${lines.join('\n  ')}`;
}

/** Source keys may use `*` for an environment name and `[*]` for any index: `environments.*.targets[*].url`. */
function lookupSource(sources: Record<string, string>, path: readonly PropertyKey[]): string | undefined {
  const text = formatPath(path);
  if (sources[text] !== undefined) return sources[text];
  for (const [key, flag] of Object.entries(sources)) {
    if (!key.includes('*')) continue;
    const pattern = key
      .split(/(\[\*\]|\*)/)
      .map((part) => (part === '[*]' ? '\\[\\d+\\]' : part === '*' ? '[^.\\[\\]]+' : part.replace(/[.[\]]/g, '\\$&')))
      .join('');
    if (new RegExp(`^${pattern}$`).test(text)) return flag;
  }
  return undefined;
}

const decimalField = /^(load\.rate|load\.stages\[\d+\]\.rate|slo\.(minRequestsPerSecond|minOutputTokensPerSecond))$/;
const percentField = /^slo\.(maxErrorRatePercent|minGoodputPercent)$/;

/** zod's generic wording, made specific where the generic text would mislead. */
/** Fields whose values are never quoted back: API keys and header values (often tokens). */
const secretField = /(^|\.)(api_key|headers)(\.|$)/;

function friendlyMessage(issue: z.core.$ZodIssue, path: string, input: unknown): string {
  const value = secretField.test(path) ? undefined : valueAt(input, issue.path);
  if (issue.code === 'custom') return issue.message;
  // The CRD's Decimal wording ("unquoted fractions are not accepted") does not hold here: YAML numbers are converted.
  if (decimalField.test(path))
    return `expected a positive number with at most 3 decimal places (e.g. 10 or 2.5)${got(value)}`;
  if (percentField.test(path)) return `expected a percentage from 0 to 100 with at most 3 decimal places${got(value)}`;
  // A message written in a schema says it best; only zod's generic wording is rewritten.
  if (!zodDefaultMessage.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type': {
      const expected = typeNames[issue.expected] ?? issue.expected;
      // zod 4 does not keep the input; "received undefined" in its message means the field is missing.
      const missing =
        input === undefined || secretField.test(path)
          ? / received undefined$/.test(issue.message)
          : valueAt(input, issue.path) === undefined;
      return missing ? `required (expected ${expected})` : `expected ${expected}${got(value)}`;
    }
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const bound = small ? issue.minimum : issue.maximum;
      const op = issue.inclusive ? (small ? '≥' : '≤') : small ? '>' : '<';
      if (issue.origin === 'string') {
        return `expected ${small ? 'at least' : 'at most'} ${plural(bound, 'character')}${value === undefined ? '' : `, got ${String(value).length}`}`;
      }
      if (issue.origin === 'array') {
        return `expected ${small ? 'at least' : 'at most'} ${plural(bound, 'item')}${Array.isArray(value) ? `, got ${value.length}` : ''}`;
      }
      return `expected a number ${op} ${String(bound)}${got(value)}`;
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map(String).join(', ')}${got(value)}`;
    case 'unrecognized_keys':
      return issue.keys.length === 1
        ? 'unknown field (check its spelling and the section it is in)'
        : `unknown fields ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_key':
      if (/^environments\.[^.]+$/.test(path)) {
        return 'environment names must be label values: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
      }
      return `invalid name: ${issue.issues[0]?.message ?? issue.message}`;
    default:
      return issue.message;
  }
}

const zodDefaultMessage = /^(Too (small|big)|Invalid (input|option|key|string|value)|Unrecognized key)/;

const plural = (n: unknown, word: string) => `${String(n)} ${n === 1 ? word : `${word}s`}`;

const typeNames: Record<string, string> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
};

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function got(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return `, got "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (Array.isArray(value)) return ', got a list';
  if (value !== null && typeof value === 'object') return ', got a mapping';
  return `, got ${String(value)}`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}
