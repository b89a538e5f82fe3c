// `npm run quickstart`: the main job on a fresh machine. Starts `loadlm sim` as a stand-in vLLM and runs a short
// constant-rate load test against it with the real runner, printing the summary table.
// Extra arguments go to `loadlm run` (e.g. `npm run quickstart -- --rate 50 --duration 30s`).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const loadlm = new URL('../runner/main.ts', import.meta.url).pathname;
const model = 'mistralai/Mistral-7B-Instruct-v0.3';

const sim = spawn(
  process.execPath,
  [loadlm, 'sim', '--port', '0', '--ttft-ms', '80', '--itl-ms', '15', '--model', model],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const simUrl = await readyUrl(sim.stdout, 15_000);
console.log(`loadlm sim (stand-in vLLM, TTFT 80 ms, ITL 15 ms) at ${simUrl}\n`);

const run = spawn(
  process.execPath,
  [
    loadlm,
    'run',
    '--target-url',
    simUrl,
    '--model',
    model,
    '--environment',
    'quickstart',
    '--rate',
    '10',
    '--duration',
    '20s',
    '--warmup',
    '2s',
    '--prompt-tokens',
    '256',
    '--output-tokens',
    '128',
    '--metrics-port',
    '0',
    '--log-level',
    'warn',
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit' },
);
const [code] = await once(run, 'exit');
sim.kill('SIGTERM');
await once(sim, 'exit');
process.exit(typeof code === 'number' ? code : 1);

async function readyUrl(stream: NodeJS.ReadableStream, timeoutMs: number): Promise<string> {
  const timer = setTimeout(() => {
    console.error(`loadlm sim did not print READY within ${timeoutMs} ms`);
    sim.kill('SIGKILL');
    process.exit(3);
  }, timeoutMs);
  for await (const line of createInterface({ input: stream })) {
    const match = /^READY (\S+)/.exec(line);
    if (match?.[1]) {
      clearTimeout(timer);
      return match[1];
    }
  }
  throw new Error('loadlm sim exited before it was ready');
}
