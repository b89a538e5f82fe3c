/**
 * `loadlm sim`: the vLLM simulator behind the CLI conventions. Flags are derived from the simulator's own
 * zod schema (`describeSimOptions`), so every option, its type and its default come from one place, and
 * values are validated by that schema (errors name the flag, exit code 2).
 *
 * Prints `READY <url>` on stdout once listening (scripts wait for it); SIGTERM/SIGINT close gracefully
 * within --shutdown-grace and exit 0; a second signal exits at once.
 */
import { type CommandSpec, type FlagSpec, type ParsedFlags, parseFlags, renderHelp } from './args.ts';
import { UsageError } from './errors.ts';
import { ExitCode } from './exit-codes.ts';
import { parseDurationFlag } from './values.ts';

type SimModule = typeof import('../sim/index.ts');

const hint = "Run 'loadlm sim --help' for the options.";
const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

let simModule: SimModule | undefined;
async function loadSim(): Promise<SimModule> {
  simModule ??= await import('../sim/index.ts');
  return simModule;
}

/** Builds the flag list from the simulator schema (loaded synchronously through the already-imported module). */
export function simFlags(sim: Pick<SimModule, 'describeSimOptions'>): FlagSpec[] {
  const flags: FlagSpec[] = sim.describeSimOptions().map((o) => {
    const stripped = o.description.replace(/\s*\(default[^)]*\)/i, '').trim();
    const description = /[.!?]$/.test(stripped) ? stripped : `${stripped}.`;
    return {
      group: 'Simulator',
      name: o.flag.slice(2),
      kind: o.type === 'string[]' ? 'list' : 'string',
      value: o.type === 'boolean' ? 'true|false' : o.type === 'string' || o.type === 'string[]' ? 'TEXT' : 'N',
      description: `${description}${o.type === 'string[]' ? ' Repeatable.' : ''}`,
      defaultText: formatDefault(o.defaultValue),
    };
  });
  flags.push(
    {
      group: 'Simulator',
      name: 'api-key-env',
      kind: 'string',
      value: 'NAME',
      description:
        'Read the required API key from this environment variable instead of --api-key (keeps it out of the process list).',
      defaultText: 'LOADLM_SIM_API_KEY if set',
    },
    {
      group: 'Process',
      name: 'shutdown-grace',
      kind: 'string',
      value: 'DURATION',
      description: 'On SIGTERM/SIGINT, let running requests finish for up to this long.',
      defaultText: '0',
    },
    { group: 'Process', name: 'help', short: 'h', kind: 'boolean', description: 'Show this help.' },
  );
  return flags;
}

function formatDefault(value: unknown): string {
  if (value === undefined) return 'none';
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(', ');
  return String(value);
}

let cachedSpec: CommandSpec | undefined;
export function simCommand(sim?: Pick<SimModule, 'describeSimOptions'>): CommandSpec {
  if (cachedSpec) return cachedSpec;
  const source = sim ?? simModule;
  if (!source) throw new Error('simCommand: the simulator module is not loaded yet');
  cachedSpec = {
    usage: 'loadlm sim',
    summary:
      'An OpenAI-compatible vLLM simulator: /v1/chat/completions and /v1/completions (streaming or not, with usage), ' +
      "configurable TTFT/ITL with jitter, a max-num-seqs queue, prefill cost, failure injection, and vLLM's /metrics.",
    flags: simFlags(source),
    epilog: `Faults (--faults, repeatable; first match wins): status=503, status=429,retry-after=2, reset-after=N,
stall-after=N, no-headers, malformed-json-after=N, malformed-sse-after=N; suffix @p=0.01 (probability) or
@every=10. Requests can also ask for one with the header "x-sim-fault: reset-after=5".

Example:
  loadlm sim --port 8000 --ttft-ms 80 --ttft-jitter-ms 20 --itl-ms 15 --max-num-seqs 64 --faults 'status=503@p=0.01'`,
  };
  return cachedSpec;
}

const maxSimMilliseconds = 86_400_000;

/** Flag values → the simulator's option object (types checked here, ranges by the simulator's schema). */
export function simInputFromFlags(
  sim: Pick<SimModule, 'describeSimOptions'>,
  parsed: ParsedFlags,
  env: NodeJS.ProcessEnv,
): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const o of sim.describeSimOptions()) {
    const raw = parsed.values[o.flag.slice(2)];
    if (raw === undefined) continue;
    if (o.type === 'string[]') {
      input[o.key] = raw;
    } else if (o.type === 'number' || o.type === 'integer') {
      const text = String(raw).trim();
      const n = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : Number.NaN;
      const what = o.type === 'integer' ? 'an integer' : 'a number';
      if (!Number.isFinite(n) || (o.type === 'integer' && !Number.isInteger(n))) {
        throw new UsageError(`${o.flag}: expected ${what}, got "${String(raw)}"`, hint);
      }
      // Timers above ~24.8 days fire after 1 ms in Node; no simulated latency needs more than a day.
      if (/Ms$|Micros/.test(o.key) && n > maxSimMilliseconds) {
        throw new UsageError(`${o.flag}: expected at most ${maxSimMilliseconds} (one day), got ${text}`, hint);
      }
      input[o.key] = n;
    } else if (o.type === 'boolean') {
      if (raw !== 'true' && raw !== 'false')
        throw new UsageError(`${o.flag}: expected true or false, got "${String(raw)}"`, hint);
      input[o.key] = raw === 'true';
    } else {
      input[o.key] = raw;
    }
  }
  if (Array.isArray(input.model) && input.model.length === 1) input.model = input.model[0];
  const keyEnv = typeof parsed.values['api-key-env'] === 'string' ? parsed.values['api-key-env'] : undefined;
  if (keyEnv !== undefined) {
    if (input.apiKey !== undefined)
      throw new UsageError('--api-key-env: give --api-key or --api-key-env, not both', hint);
    const key = env[keyEnv];
    if (!key) throw new UsageError(`--api-key-env ${keyEnv}: environment variable ${keyEnv} is not set or empty`, hint);
    input.apiKey = key;
  } else if (input.apiKey === undefined && env.LOADLM_SIM_API_KEY) {
    input.apiKey = env.LOADLM_SIM_API_KEY;
  }
  return input;
}

/** The schema names fields by key (`ttftMs`, `faults.0`); name the flags instead, one line each. */
export function simIssuesAsFlags(issues: readonly string[], keys: readonly string[] = []): string {
  return issues
    .map((issue) => {
      const m = /^([a-zA-Z]+)(?:\.(\d+))?(\.[^:]*)?: (.*)$/s.exec(issue);
      if (!m) return issue;
      const [, field, index, , message] = m;
      const which = index === undefined ? '' : ` (value ${Number(index) + 1})`;
      return `--${kebab(field as string)}${which}: ${plainBounds(message as string, keys)}`;
    })
    .join('\n');
}

/** zod's "Too small: expected number to be >=1" → "expected a number ≥ 1"; option keys in messages → flags. */
function plainBounds(message: string, keys: readonly string[]): string {
  const m = /^Too (small|big): expected number to be (>=|<=|>|<)(.+)$/.exec(message);
  if (!m) {
    return message
      .replace(/\b[A-Za-z]+\b/g, (word) => (keys.includes(word) ? `--${kebab(word)}` : word))
      .replace('>=', '≥');
  }
  const op = { '>=': '≥', '<=': '≤', '>': '>', '<': '<' }[m[2] as '>=' | '<=' | '>' | '<'];
  return `expected a number ${op} ${m[3]}`;
}

export async function simCommandMain(argv: string[]): Promise<number> {
  const sim = await loadSim();
  const spec = simCommand(sim);
  const parsed = parseFlags(spec, argv);
  if (parsed.values.help === true) {
    process.stdout.write(renderHelp(spec));
    return ExitCode.Success;
  }
  const input = simInputFromFlags(sim, parsed, process.env);
  const graceText = parsed.values['shutdown-grace'];
  const graceMs = typeof graceText === 'string' ? parseDurationFlag('shutdown-grace', graceText) * 1000 : 0;
  try {
    sim.parseSimOptions(input);
  } catch (err) {
    if (err instanceof sim.SimOptionsError)
      throw new UsageError(
        simIssuesAsFlags(
          err.issues,
          sim.describeSimOptions().map((o) => o.key),
        ),
        hint,
      );
    throw err;
  }

  let simulator: Awaited<ReturnType<SimModule['startSimulator']>>;
  try {
    simulator = await sim.startSimulator(input);
  } catch (err) {
    // The simulator wraps the listen error ("cannot listen on ...: listen EADDRINUSE ..."); its code is in the text.
    const code = (err as NodeJS.ErrnoException).code ?? /\b(E[A-Z_]{3,})\b/.exec((err as Error).message)?.[1];
    const host = String(input.host ?? '127.0.0.1');
    if (code === 'ENOTFOUND' || code === 'EADDRNOTAVAIL' || code === 'EAI_AGAIN') {
      throw new UsageError(`--host ${host}: cannot listen on this address (${code})`, hint);
    }
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new UsageError(
        `--port ${String(input.port ?? 8000)}: cannot listen on ${host} (${code}: in use or not allowed)`,
        hint,
      );
    }
    process.stderr.write(`loadlm sim: ${(err as Error).message}\n`);
    return ExitCode.RunFailed;
  }
  process.stdout.write(`READY ${simulator.url}\n`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.exit(ExitCode.Success);
      }
      stopping = true;
      process.stderr.write(`loadlm sim: ${signal}, closing\n`);
      void simulator.close({ graceMs }).then(() => resolve(ExitCode.Success));
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
