/**
 * Runs the simulator as its own process, for benchmarks, tests and the quickstart:
 *
 *   node runner/sim/process.ts --port 0 --ttft-ms 50 --itl-ms 10 --faults 'status=503@p=0.01'
 *
 * Options: every key of simOptionsSchema as a kebab-case flag (repeat --model/--faults for several),
 * or a JSON object in --options / LOADLM_SIM_OPTIONS (flags win). The API key may come from
 * LOADLM_SIM_API_KEY so it stays out of the process list. Prints `READY <url>` on stdout once
 * listening. On stdin, the line `stats` prints `STATS <json>`; `close`, SIGTERM or SIGINT close
 * gracefully (--shutdown-grace-ms, default 0) and exit 0. Invalid options exit 2 with the message.
 */
import { parseArgs } from 'node:util';
import { describeSimOptions, SimOptionsError, startSimulator } from './index.ts';

function optionsFromArgv(argv: string[]): { input: Record<string, unknown>; graceMs: number } {
  const described = describeSimOptions();
  const parseOptions: Record<string, { type: 'string'; multiple?: boolean }> = {
    options: { type: 'string' },
    'shutdown-grace-ms': { type: 'string' },
  };
  for (const option of described) {
    parseOptions[option.flag.slice(2)] = { type: 'string', multiple: option.type === 'string[]' };
  }
  const { values } = parseArgs({ args: argv, options: parseOptions, strict: true, allowPositionals: false });
  const fromJson = (text: string | undefined, where: string): Record<string, unknown> => {
    if (text === undefined || text === '') return {};
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new SimOptionsError([`${where}: not valid JSON (${(error as Error).message})`]);
    }
  };
  const input: Record<string, unknown> = {
    ...fromJson(process.env.LOADLM_SIM_OPTIONS, 'LOADLM_SIM_OPTIONS'),
    ...fromJson(values.options as string | undefined, '--options'),
  };
  if (process.env.LOADLM_SIM_API_KEY) input.apiKey = process.env.LOADLM_SIM_API_KEY;
  for (const option of described) {
    const value = values[option.flag.slice(2)];
    if (value === undefined) continue;
    if (option.type === 'number' || option.type === 'integer') {
      const number = Number(value);
      if (value === '' || !Number.isFinite(number)) {
        throw new SimOptionsError([`${option.flag}: expected a number, got "${value}"`]);
      }
      input[option.key] = number;
    } else if (option.type === 'boolean') {
      if (value !== 'true' && value !== 'false') {
        throw new SimOptionsError([`${option.flag}: expected true or false, got "${value}"`]);
      }
      input[option.key] = value === 'true';
    } else {
      input[option.key] = value;
    }
  }
  const grace = Number(values['shutdown-grace-ms'] ?? 0);
  if (!Number.isFinite(grace) || grace < 0) {
    throw new SimOptionsError([`--shutdown-grace-ms: expected a non-negative number of ms`]);
  }
  return { input, graceMs: grace };
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof optionsFromArgv>;
  try {
    parsed = optionsFromArgv(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`loadlm sim: ${(error as Error).message}\n`);
    process.exit(2);
  }
  let simulator: Awaited<ReturnType<typeof startSimulator>>;
  try {
    simulator = await startSimulator(parsed.input);
  } catch (error) {
    process.stderr.write(`loadlm sim: ${(error as Error).message}\n`);
    process.exit(error instanceof SimOptionsError ? 2 : 1);
  }
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void simulator.close({ graceMs: parsed.graceMs }).then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.setEncoding('utf8');
  let pending = '';
  process.stdin.on('data', (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      const command = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (command === 'stats') process.stdout.write(`STATS ${JSON.stringify(simulator.stats())}\n`);
      else if (command === 'close') stop();
      newline = pending.indexOf('\n');
    }
  });
  process.stdin.on('error', () => {});
  process.stdout.write(`READY ${simulator.url}\n`);
}

await main();
