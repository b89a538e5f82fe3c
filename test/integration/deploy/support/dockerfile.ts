/**
 * A small Dockerfile parser for the instructions loadlm's Dockerfiles use (ARG, FROM, WORKDIR, COPY, RUN, ENV,
 * USER, LABEL, EXPOSE, ENTRYPOINT, CMD), so a test can replay an image build without a Docker engine. Pure: text
 * in, structure out; anything it does not know is an error naming the line, never silently skipped.
 */

export class DockerfileError extends Error {
  override name = 'DockerfileError';
}

export type Instruction =
  | { kind: 'ARG'; line: number; name: string; default?: string }
  | { kind: 'WORKDIR'; line: number; path: string }
  | {
      kind: 'COPY';
      line: number;
      from?: string;
      chmod?: string;
      chown?: string;
      sources: string[];
      destination: string;
    }
  | { kind: 'RUN'; line: number; command: string }
  | { kind: 'ENV'; line: number; values: [string, string][] }
  | { kind: 'LABEL'; line: number; values: [string, string][] }
  | { kind: 'USER'; line: number; user: string }
  | { kind: 'EXPOSE'; line: number; ports: string[] }
  | { kind: 'ENTRYPOINT' | 'CMD'; line: number; argv: string[]; shellForm: boolean };

export interface Stage {
  /** The FROM image, variables not yet expanded. */
  base: string;
  name?: string;
  line: number;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM (usable in FROM lines). */
  globalArgs: Map<string, string | undefined>;
  stages: Stage[];
}

interface LogicalLine {
  line: number;
  text: string;
}

/** Joins `\`-continued lines, drops comments and blank lines (inside a continuation too). */
export function logicalLines(text: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  let current: LogicalLine | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    // Blank lines end nothing: inside a continuation Docker skips them too.
    if (trimmed.startsWith('#') || trimmed === '') return;
    const continued = /\\\s*$/.test(raw);
    const body = continued ? raw.replace(/\\\s*$/, '') : raw;
    if (current) current.text += ` ${body.trim()}`;
    else current = { line: index + 1, text: body.trim() };
    if (!continued) {
      out.push(current);
      current = undefined;
    }
  });
  if (current) throw new DockerfileError(`line ${current.line}: the last line ends with a continuation "\\"`);
  return out;
}

/** Splits on whitespace, honouring double and single quotes and backslash escapes (ENV, LABEL, COPY). */
export function splitWords(text: string, line: number): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      inWord = true;
    } else if (char === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote) throw new DockerfileError(`line ${line}: unterminated ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

function keyValues(args: string, line: number, instruction: string): [string, string][] {
  const words = splitWords(args, line);
  if (words.length === 0) throw new DockerfileError(`line ${line}: ${instruction} needs at least one key=value`);
  // Legacy form `ENV KEY value with spaces`.
  if (instruction === 'ENV' && !words[0]?.includes('=')) {
    const [key, ...rest] = words;
    return [[key as string, rest.join(' ')]];
  }
  return words.map((word) => {
    const equals = word.indexOf('=');
    if (equals <= 0) throw new DockerfileError(`line ${line}: ${instruction} expects key=value, got "${word}"`);
    return [word.slice(0, equals), word.slice(equals + 1)];
  });
}

function execForm(args: string, line: number, instruction: string): { argv: string[]; shellForm: boolean } {
  const trimmed = args.trim();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw new DockerfileError(`line ${line}: ${instruction} looks like exec form but is not a JSON array`);
    }
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
      throw new DockerfileError(`line ${line}: ${instruction} exec form must be an array of strings`);
    }
    return { argv: parsed, shellForm: false };
  }
  return { argv: ['/bin/sh', '-c', trimmed], shellForm: true };
}

function parseCopy(args: string, line: number): Instruction {
  const words = splitWords(args, line);
  const options: Record<string, string> = {};
  while (words[0]?.startsWith('--')) {
    const option = words.shift() as string;
    const match = /^--(from|chmod|chown|link)(?:=(.*))?$/.exec(option);
    if (!match) throw new DockerfileError(`line ${line}: COPY option ${option} is not supported`);
    options[match[1] as string] = match[2] ?? 'true';
  }
  if (words.length < 2) throw new DockerfileError(`line ${line}: COPY needs at least one source and a destination`);
  const destination = words.pop() as string;
  return {
    kind: 'COPY',
    line,
    ...(options.from ? { from: options.from } : {}),
    ...(options.chmod ? { chmod: options.chmod } : {}),
    ...(options.chown ? { chown: options.chown } : {}),
    sources: words,
    destination,
  };
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs = new Map<string, string | undefined>();
  const stages: Stage[] = [];
  for (const { line, text: logical } of logicalLines(text)) {
    const match = /^(\S+)\s*(.*)$/s.exec(logical);
    const keyword = (match?.[1] ?? '').toUpperCase();
    const args = match?.[2] ?? '';
    const stage = stages.at(-1);
    if (keyword === 'FROM') {
      const words = splitWords(args, line).filter((word) => !word.startsWith('--platform='));
      if (words.length !== 1 && !(words.length === 3 && words[1]?.toUpperCase() === 'AS')) {
        throw new DockerfileError(`line ${line}: FROM expects "image [AS name]", got "${args}"`);
      }
      stages.push({ base: words[0] as string, ...(words[2] ? { name: words[2] } : {}), line, instructions: [] });
      continue;
    }
    if (keyword === 'ARG') {
      const [name, ...rest] = args.trim().split('=');
      if (!name || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new DockerfileError(`line ${line}: ARG needs a name`);
      const value = rest.length > 0 ? (splitWords(rest.join('='), line)[0] ?? '') : undefined;
      if (stage)
        stage.instructions.push({ kind: 'ARG', line, name, ...(value !== undefined ? { default: value } : {}) });
      else globalArgs.set(name, value);
      continue;
    }
    if (!stage) throw new DockerfileError(`line ${line}: ${keyword} before the first FROM`);
    const push = (instruction: Instruction) => stage.instructions.push(instruction);
    switch (keyword) {
      case 'WORKDIR':
        push({ kind: 'WORKDIR', line, path: args.trim() });
        break;
      case 'COPY':
        push(parseCopy(args, line));
        break;
      case 'RUN':
        if (args.trim().startsWith('[')) throw new DockerfileError(`line ${line}: RUN exec form is not supported`);
        push({ kind: 'RUN', line, command: args.trim() });
        break;
      case 'ENV':
      case 'LABEL':
        push({ kind: keyword, line, values: keyValues(args, line, keyword) });
        break;
      case 'USER':
        push({ kind: 'USER', line, user: args.trim() });
        break;
      case 'EXPOSE':
        push({ kind: 'EXPOSE', line, ports: splitWords(args, line) });
        break;
      case 'ENTRYPOINT':
      case 'CMD':
        push({ kind: keyword, line, ...execForm(args, line, keyword) });
        break;
      default:
        throw new DockerfileError(`line ${line}: instruction ${keyword || logical} is not supported by this parser`);
    }
  }
  if (stages.length === 0) throw new DockerfileError('no FROM: a Dockerfile needs at least one stage');
  return { globalArgs, stages };
}

/** `$VAR`, `${VAR}`, `${VAR:-default}` and `${VAR:+alternative}` from `vars`; unknown variables expand to ''. */
export function expandVariables(text: string, vars: ReadonlyMap<string, string | undefined>): string {
  return text.replace(
    /\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, braced: string | undefined, operator: string | undefined, operand: string | undefined, bare) => {
      if (whole === '\\$') return '$';
      const value = vars.get((braced ?? bare) as string);
      if (operator === '-') return value ? value : (operand ?? '');
      if (operator === '+') return value ? (operand ?? '') : '';
      return value ?? '';
    },
  );
}

/** What `docker inspect` would show of the last stage (the image): its config, without the base image's. */
export interface ImageConfig {
  base: string;
  env: Map<string, string>;
  labels: Map<string, string>;
  workdir: string;
  user: string | undefined;
  entrypoint: string[];
  cmd: string[];
  exposed: string[];
}

/** The image config of a stage, with ARG/ENV expansion as Docker does it (FROM sees only global ARGs). */
export function stageConfig(dockerfile: Dockerfile, index = dockerfile.stages.length - 1): ImageConfig {
  const stage = dockerfile.stages[index];
  if (!stage) throw new DockerfileError(`no stage ${index}`);
  const globals = new Map(dockerfile.globalArgs);
  const vars = new Map<string, string | undefined>();
  const config: ImageConfig = {
    base: expandVariables(stage.base, globals),
    env: new Map(),
    labels: new Map(),
    workdir: '/',
    user: undefined,
    entrypoint: [],
    cmd: [],
    exposed: [],
  };
  for (const instruction of stage.instructions) {
    const expand = (text: string) => expandVariables(text, vars);
    switch (instruction.kind) {
      case 'ARG':
        // A stage ARG without a default takes the global one.
        vars.set(instruction.name, instruction.default ?? globals.get(instruction.name));
        break;
      case 'ENV':
        for (const [key, value] of instruction.values) {
          const expanded = expand(value);
          config.env.set(key, expanded);
          vars.set(key, expanded);
        }
        break;
      case 'LABEL':
        for (const [key, value] of instruction.values) config.labels.set(key, expand(value));
        break;
      case 'WORKDIR': {
        const path = expand(instruction.path);
        config.workdir = path.startsWith('/') ? path : `${config.workdir.replace(/\/$/, '')}/${path}`;
        break;
      }
      case 'USER':
        config.user = expand(instruction.user);
        break;
      case 'EXPOSE':
        config.exposed.push(...instruction.ports.map(expand));
        break;
      case 'ENTRYPOINT':
        // (Docker also drops a CMD inherited from the base image here; base images are not modelled.)
        config.entrypoint = instruction.argv;
        break;
      case 'CMD':
        config.cmd = instruction.argv;
        break;
      default:
        break;
    }
  }
  return config;
}
