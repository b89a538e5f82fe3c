/**
 * A small declarative layer over node:util `parseArgs`: each command lists its flags once (name, kind,
 * default, description), and that list drives parsing, value checking and the help text, so help can never
 * miss an option or show a stale default.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';

export type FlagKind = 'string' | 'boolean' | 'list';

export interface FlagSpec {
  /** Long name without dashes, e.g. `target-url`. */
  name: string;
  kind: FlagKind;
  /** Placeholder for the value in help, e.g. `URL`. */
  value?: string;
  description: string;
  /** Shown in help as `(default: ...)`; `undefined` shows nothing. Defaults are applied by the command. */
  defaultText?: string;
  short?: string;
  /** Help section heading. */
  group?: string;
}

export interface CommandSpec {
  /** e.g. `loadlm run`. */
  usage: string;
  summary: string;
  flags: FlagSpec[];
  /** Free text appended after the options (examples, syntax notes). */
  epilog?: string;
}

export interface ParsedFlags {
  /** Flags given on the command line (string / true / string[] for `list`); absent flags are missing. */
  values: Record<string, string | boolean | string[]>;
  positionals: string[];
}

/** Parses `argv` against `spec`; unknown flags, missing values and stray positionals are `UsageError`s. */
export function parseFlags(spec: CommandSpec, argv: string[], allowPositionals = false): ParsedFlags {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const f of spec.flags) {
    options[f.name] = {
      type: f.kind === 'boolean' ? 'boolean' : 'string',
      ...(f.kind === 'list' ? { multiple: true } : {}),
      ...(f.short ? { short: f.short } : {}),
    };
  }
  const hint = `Run '${spec.usage} --help' for the options.`;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: attachNegativeValues(argv, spec),
      options,
      strict: true,
      allowPositionals,
      tokens: true,
    });
  } catch (err) {
    throw translateParseError(err, spec, argv, hint);
  }
  // parseArgs accepts `--flag=` and `--flag ''` silently; an empty value is never meaningful here.
  for (const token of parsed.tokens ?? []) {
    if (token.kind === 'option' && token.value === '' && options[token.name]?.type === 'string') {
      throw new UsageError(`--${token.name}: expected a value, got an empty string`, hint);
    }
  }
  return { values: parsed.values as ParsedFlags['values'], positionals: parsed.positionals };
}

/**
 * `--rate -1` would read `-1` as an option and fail with "expected a value"; joining it as `--rate=-1` lets the
 * value check say what is wrong with it. No short option is a digit, so a `-<digit>` token is never an option.
 */
function attachNegativeValues(argv: string[], spec: CommandSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    const flag = spec.flags.find((f) => arg === `--${f.name}` || (f.short !== undefined && arg === `-${f.short}`));
    if (flag && flag.kind !== 'boolean' && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`--${flag.name}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

function translateParseError(err: unknown, spec: CommandSpec, argv: string[], hint: string): Error {
  if (!(err instanceof Error)) return new UsageError(String(err), hint);
  const code = (err as { code?: string }).code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(err.message)?.[1] ?? argv.find((a) => a.startsWith('-')) ?? '?';
    const name = flag.replace(/^-+/, '').split('=')[0] ?? '';
    const suggestion = closest(
      name,
      spec.flags.map((f) => f.name),
    );
    return new UsageError(
      `unknown option ${flag}${suggestion ? ` (did you mean --${suggestion}?)` : ''} for '${spec.usage}'`,
      hint,
    );
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    // e.g. "Option '-r, --rate <value>' argument missing", "Option '--quiet' does not take an argument"
    const long = /--([A-Za-z0-9-]+)/.exec(err.message)?.[1];
    const short = /'-([A-Za-z0-9])\b/.exec(err.message)?.[1];
    const f = spec.flags.find((x) => x.name === long) ?? spec.flags.find((x) => x.short === short);
    if (f?.kind === 'boolean') return new UsageError(`--${f.name}: is a switch and takes no value`, hint);
    if (f) return new UsageError(`--${f.name}: expected a value (${f.value ?? 'VALUE'})`, hint);
    return new UsageError(err.message, hint);
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /'([^']+)'/.exec(err.message)?.[1] ?? '';
    return new UsageError(`unexpected argument '${arg}' for '${spec.usage}' (options start with --)`, hint);
  }
  return new UsageError(err.message, hint);
}

/** The flag name nearest to `name` by edit distance, if it is plausibly a typo. */
function closest(name: string, candidates: string[]): string | undefined {
  // A truncated flag (`--ttft` for `--ttft-ms`) is the most common typo.
  const extended = candidates.filter((c) => name.length >= 3 && c.startsWith(name)).sort((a, b) => a.length - b.length);
  if (extended.length > 0) return extended[0];
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** Renders the help text: usage, summary, then every flag grouped, each with its default. */
export function renderHelp(spec: CommandSpec, width = 100): string {
  const lines = [`Usage: ${spec.usage} [options]`, '', ...wrap(spec.summary, width), ''];
  const groups = new Map<string, FlagSpec[]>();
  for (const f of spec.flags) {
    const g = f.group ?? 'Options';
    groups.set(g, [...(groups.get(g) ?? []), f]);
  }
  const heads = spec.flags.map(flagHead);
  const column = Math.min(34, Math.max(...heads.map((h) => h.length)) + 4);
  for (const [group, flags] of groups) {
    lines.push(`${group}:`);
    for (const f of flags) {
      const head = flagHead(f);
      const text = f.defaultText === undefined ? f.description : `${f.description} (default: ${f.defaultText})`;
      const wrapped = wrap(text, width - column);
      const first = head.length + 2 < column ? head.padEnd(column) + (wrapped[0] ?? '') : head;
      lines.push(first);
      const rest = head.length + 2 < column ? wrapped.slice(1) : wrapped;
      for (const w of rest) lines.push(' '.repeat(column) + w);
    }
    lines.push('');
  }
  if (spec.epilog) lines.push(spec.epilog.trimEnd(), '');
  return lines.join('\n');
}

function flagHead(f: FlagSpec): string {
  const short = f.short ? `-${f.short}, ` : '    ';
  const value = f.kind === 'boolean' ? '' : ` ${f.value ?? 'VALUE'}`;
  return `  ${short}--${f.name}${value}`;
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) out.push(line);
  return out;
}
