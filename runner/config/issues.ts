/** zod issues → one `field.path (from --flag): what is wrong` line each. */
import type { z } from 'zod';

export function formatIssues(error: z.ZodError, sources: Record<string, string>, configPath?: string): string {
  const lines = error.issues.map((issue) => {
    const path = formatPath(issue.path);
    // The flag that set this field or the nearest enclosing one (`load.stages[0].rate` ← `load.stages`).
    let flag: string | undefined;
    for (let n = issue.path.length; n > 0 && flag === undefined; n--)
      flag = lookupSource(sources, issue.path.slice(0, n));
    const origin = flag ? ` (from ${flag})` : '';
    return `${path || '(config)'}${origin}: ${friendlyMessage(issue, path)}`;
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
function friendlyMessage(issue: z.core.$ZodIssue, path: string): string {
  if (issue.code === 'invalid_type' && issue.input === undefined) return `required (expected ${issue.expected})`;
  if (issue.code === 'custom') return issue.message;
  if (issue.code === 'invalid_key') {
    return 'environment names must be label values: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
  }
  if (decimalField.test(path)) return 'expected a positive number with at most 3 decimal places (e.g. 10 or 2.5)';
  if (percentField.test(path)) return 'expected a percentage from 0 to 100 with at most 3 decimal places';
  return issue.message;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}
