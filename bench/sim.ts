/**
 * Benchmark of the vLLM simulator (runner/sim) in its own process, driven by a deliberately minimal
 * client (raw keep-alive HTTP/1.1 sockets, token counting by substring search) so that the client
 * costs as little as possible on a 2-core machine.
 *
 *   node bench/sim.ts [--rate 1000] [--duration 10] [--tokens 128] [--workers 1] [--streams 10000]
 *                     [--ttft-ms 20] [--itl-ms 5] [--tick-ms 1] [--skip-rate] [--skip-streams] [--no-pin]
 *
 * Phase 1 sends streamed chat requests open-loop at --rate (128 output tokens, one token per SSE
 * chunk, ignore_eos) and prints completed req/s, the simulator's CPU (all its processes, from
 * /proc) per request and in cores, and how late the simulator's writes were against their deadlines.
 * Phase 2 opens --streams concurrent streams, waits until every one of them is receiving tokens, and
 * prints the simulator's RSS and CPU while it holds them. Linux only (reads /proc).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '10' },
    tokens: { type: 'string', default: '128' },
    workers: { type: 'string', default: '1' },
    streams: { type: 'string', default: '10000' },
    'ttft-ms': { type: 'string', default: '20' },
    'itl-ms': { type: 'string', default: '5' },
    'tick-ms': { type: 'string', default: '1' },
    'skip-streams': { type: 'boolean', default: false },
    'skip-rate': { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
  },
});
const num = (name: keyof typeof args) => {
  const value = Number(args[name]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name}: expected a non-negative number`);
  return value;
};

const SIM_ENTRY = fileURLToPath(new URL('../runner/sim/process.ts', import.meta.url));
// Pin the client to core 0 and a single-process simulator to core 1 so they do not trade places.
const CORES = availableParallelism();
const PIN = !args['no-pin'] && CORES >= 2 && hasTaskset();

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const MODEL = 'mistralai/Mistral-7B-Instruct-v0.3';
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

interface Sim {
  child: ChildProcess;
  port: number;
  stats(): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

async function startSim(options: Record<string, unknown>): Promise<Sim> {
  // LOADLM_BENCH_SIM_NODE_ARGS passes node flags to the simulator, e.g. "--cpu-prof" for profiling.
  const nodeArgs = (process.env.LOADLM_BENCH_SIM_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const simArgs = [...nodeArgs, SIM_ENTRY, '--options', JSON.stringify({ port: 0, ...options })];
  const pinSim = PIN && (options.workers ?? 1) === 1;
  const child = pinSim
    ? spawn('taskset', ['-c', '1', process.execPath, ...simArgs], { stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn(process.execPath, simArgs, { stdio: ['pipe', 'pipe', 'inherit'] });
  let buffered = '';
  const waiters: Array<(line: string) => boolean> = [];
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      const index = waiters.findIndex((waiter) => waiter(line));
      if (index !== -1) waiters.splice(index, 1);
      newline = buffered.indexOf('\n');
    }
  });
  const nextLine = (prefix: string, timeoutMs: number) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`simulator did not print ${prefix} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      waiters.push((line) => {
        if (!line.startsWith(prefix)) return false;
        clearTimeout(timer);
        resolve(line.slice(prefix.length));
        return true;
      });
    });
  const url = await nextLine('READY ', 20_000);
  return {
    child,
    port: Number(new URL(url).port),
    stats: async () => {
      const line = nextLine('STATS ', 5_000);
      child.stdin?.write('stats\n');
      return JSON.parse(await line) as Record<string, unknown>;
    },
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Process ids of the simulator: its main process and (with workers) its children. */
function processTree(rootPid: number): number[] {
  const pids = [rootPid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === rootPid) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime + stime
    } catch {
      // gone
    }
  }
  return ticks / CLOCK_TICKS;
}

function rssMiB(pids: number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      kib += Number(match?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kib / 1024;
}

function requestBytes(port: number, maxTokens: number): Buffer {
  const body = JSON.stringify({
    model: MODEL,
    messages: [{ role: 'user', content: 'Write a story about a fox.' }],
    max_tokens: maxTokens,
    ignore_eos: true,
    stream: true,
    stream_options: { include_usage: true },
  });
  return Buffer.from(
    `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

const CONTENT = Buffer.from('"delta":{"content":"');
const END = Buffer.from('\r\n0\r\n\r\n');
const EMPTY = Buffer.alloc(0);

function occurrences(data: Buffer, pattern: Buffer): number {
  let found = 0;
  let at = data.indexOf(pattern);
  while (at !== -1) {
    found += 1;
    at = data.indexOf(pattern, at + pattern.length);
  }
  return found;
}

/**
 * One keep-alive connection that streams one response at a time and counts its content chunks. It
 * searches the raw bytes (no string decoding) so the client stays cheap next to the simulator.
 */
class StreamConnection {
  readonly socket: net.Socket;
  busy = false;
  tokens = 0;
  sentAt = 0;
  firstTokenAt = 0;
  lastTokenAt = 0;
  /** The last CONTENT.length - 1 bytes seen, to find a pattern split across reads. */
  #tail: Buffer = EMPTY;
  onDone: (connection: StreamConnection) => void = () => {};

  constructor(port: number) {
    this.socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    this.socket.on('data', (data: Buffer) => this.#onData(data));
    this.socket.on('error', () => {});
  }

  send(request: Buffer): void {
    this.busy = true;
    this.tokens = 0;
    this.firstTokenAt = 0;
    this.sentAt = performance.now();
    this.socket.write(request);
  }

  #onData(data: Buffer): void {
    const keep = CONTENT.length - 1;
    let found = occurrences(data, CONTENT);
    // Matches across the boundary: the joint holds too few bytes on either side to contain a whole match.
    if (this.#tail.length > 0) found += occurrences(Buffer.concat([this.#tail, data.subarray(0, keep)]), CONTENT);
    if (found > 0) {
      const now = performance.now();
      if (this.tokens === 0) this.firstTokenAt = now;
      this.lastTokenAt = now;
      this.tokens += found;
    }
    const recent =
      data.length >= keep ? data.subarray(data.length - keep) : Buffer.concat([this.#tail, data]).subarray(-keep);
    const ended = recent.subarray(recent.length - END.length).equals(END);
    this.#tail = ended ? EMPTY : Buffer.from(recent);
    if (ended) {
      this.busy = false;
      this.onDone(this);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function ratePhase(): Promise<void> {
  const rate = num('rate');
  const duration = num('duration');
  const tokens = num('tokens');
  const workers = num('workers');
  const ttftMs = num('ttft-ms');
  const itlMs = num('itl-ms');
  const sim = await startSim({
    ttftMs,
    itlMs,
    workers,
    tickMs: num('tick-ms'),
    maxNumSeqs: 100_000,
    keepAliveTimeoutMs: 60_000,
  });
  const pids = processTree(sim.child.pid as number);
  const request = requestBytes(sim.port, tokens);
  const idle: StreamConnection[] = [];
  const all: StreamConnection[] = [];
  let measuring = false;
  let completed = 0;
  let wrongTokenCount = 0;
  let ttftSum = 0;
  let e2eSum = 0;
  const onDone = (connection: StreamConnection) => {
    if (measuring) {
      completed += 1;
      if (connection.tokens !== tokens) wrongTokenCount += 1;
      ttftSum += connection.firstTokenAt - connection.sentAt;
      e2eSum += connection.lastTokenAt - connection.sentAt;
    }
    idle.push(connection);
  };
  const warmupS = 2;
  const start = performance.now();
  const total = Math.round(rate * (duration + warmupS + (ttftMs + tokens * itlMs) / 1000));
  let sent = 0;
  let cpuAtStart = 0;
  let clientCpuAtStart = process.cpuUsage();
  let statsAtStart: Record<string, unknown> = {};
  const measureFrom = start + warmupS * 1000;
  const measureTo = measureFrom + duration * 1000;
  let late = 0;
  await new Promise<void>((resolve) => {
    const pump = () => {
      const now = performance.now();
      if (!measuring && now >= measureFrom && now < measureTo) {
        measuring = true;
        cpuAtStart = cpuSeconds(pids);
        clientCpuAtStart = process.cpuUsage();
        void sim.stats().then((s) => {
          statsAtStart = s;
        });
      }
      if (measuring && now >= measureTo) {
        measuring = false;
        resolve();
        return;
      }
      while (sent < total && start + (sent * 1000) / rate <= now) {
        if (now - (start + (sent * 1000) / rate) > 5) late += 1;
        let connection = idle.pop();
        if (connection === undefined) {
          connection = new StreamConnection(sim.port);
          connection.onDone = onDone;
          all.push(connection);
        }
        connection.send(request);
        sent += 1;
      }
      setTimeout(pump, 1);
    };
    pump();
  });
  const cpu = cpuSeconds(pids) - cpuAtStart;
  const clientCpuUsage = process.cpuUsage(clientCpuAtStart);
  const clientCpu = (clientCpuUsage.user + clientCpuUsage.system) / 1e6;
  const rss = rssMiB(pids);
  const statsAtEnd = await sim.stats();
  for (const connection of all) connection.socket.destroy();
  await sim.stop();
  const lateness = statsAtEnd.lateness as { meanMs: number; p99Ms: number; maxMs: number };
  const generated = (statsAtEnd.generationTokens as number) - ((statsAtStart.generationTokens as number) ?? 0);
  console.log(
    `\n== streamed requests: ${rate} req/s offered, ${tokens} tokens x 1 token/chunk, ${workers} worker(s) ==`,
  );
  console.log(
    `sim config: ttft ${ttftMs} ms, itl ${itlMs} ms, tick ${num('tick-ms')} ms; measured ${duration} s after ${warmupS} s warmup`,
  );
  console.log(`completed:            ${(completed / duration).toFixed(0)} req/s (${completed} requests)`);
  console.log(`tokens sent by sim:   ${(generated / duration).toFixed(0)} tokens/s`);
  console.log(`wrong token counts:   ${wrongTokenCount}`);
  console.log(
    `sim CPU:              ${(cpu / duration).toFixed(2)} cores, ${((cpu / Math.max(1, completed)) * 1e6).toFixed(0)} us/request, ${((cpu / Math.max(1, generated)) * 1e6).toFixed(2)} us/token`,
  );
  console.log(`client-seen TTFT:     mean ${(ttftSum / Math.max(1, completed)).toFixed(2)} ms (configured ${ttftMs})`);
  console.log(
    `client-seen E2E:      mean ${(e2eSum / Math.max(1, completed)).toFixed(2)} ms (configured ${ttftMs + (tokens - 1) * itlMs})`,
  );
  console.log(
    `sim write lateness:   mean ${lateness.meanMs.toFixed(2)} ms, p99 ${lateness.p99Ms.toFixed(2)} ms, max ${lateness.maxMs.toFixed(2)} ms (whole run)`,
  );
  console.log(`sim RSS at the end:   ${rss.toFixed(0)} MiB`);
  console.log(
    `bench client:         ${(clientCpu / duration).toFixed(2)} cores; sends >5 ms late: ${late}; connections: ${all.length}`,
  );
}

async function streamsPhase(): Promise<void> {
  const streams = num('streams');
  const itlMs = 500;
  const sim = await startSim({
    ttftMs: 50,
    itlMs,
    workers: num('workers'),
    maxNumSeqs: streams,
    keepAliveTimeoutMs: 60_000,
  });
  const pids = processTree(sim.child.pid as number);
  const request = requestBytes(sim.port, 1000);
  const connections: StreamConnection[] = [];
  const rssIdle = rssMiB(pids);
  const opened = performance.now();
  for (let i = 0; i < streams; i++) {
    const connection = new StreamConnection(sim.port);
    connection.socket.once('connect', () => connection.send(request));
    connections.push(connection);
    if (i % 500 === 499) await sleep(20); // stay under the listen backlog
  }
  const deadline = performance.now() + 60_000;
  const isStreaming = () => connections.filter((c) => c.tokens > 0 && !c.socket.destroyed).length;
  let streaming = isStreaming();
  while (streaming < streams && performance.now() < deadline) {
    await sleep(200);
    streaming = isStreaming();
  }
  const allStreamingAfter = performance.now() - opened;
  const cpuBefore = cpuSeconds(pids);
  const tokensBefore = connections.reduce((sum, c) => sum + c.tokens, 0);
  const holdS = 5;
  await sleep(holdS * 1000);
  const cpu = cpuSeconds(pids) - cpuBefore;
  const tokensDuring = connections.reduce((sum, c) => sum + c.tokens, 0) - tokensBefore;
  const stats = await sim.stats();
  const rss = rssMiB(pids);
  const stillOpen = connections.filter((c) => !c.socket.destroyed && c.busy).length;
  for (const connection of connections) connection.socket.destroy();
  await sim.stop();
  console.log(`\n== concurrent open streams: ${streams} (itl ${itlMs} ms, 1000 tokens each) ==`);
  console.log(
    `streams receiving tokens: ${streaming} of ${streams} (all after ${(allStreamingAfter / 1000).toFixed(1)} s); still open after hold: ${stillOpen}`,
  );
  console.log(
    `sim running/waiting:  ${String(stats.running)}/${String(stats.waiting)}, open connections ${String(stats.openConnections)}`,
  );
  console.log(`sim RSS:              ${rss.toFixed(0)} MiB holding the streams (${rssIdle.toFixed(0)} MiB idle)`);
  console.log(
    `sim CPU while holding: ${(cpu / holdS).toFixed(2)} cores for ${(tokensDuring / holdS).toFixed(0)} tokens/s`,
  );
}

if (PIN) execFileSync('taskset', ['-a', '-cp', '0', String(process.pid)], { stdio: 'ignore' });
const load = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
const pinning = PIN ? 'client pinned to core 0, single-process simulator to core 1' : 'not pinned';
console.log(`bench:sim — node ${process.version}, ${CORES} cores, load average ${load}; ${pinning}`);
if (!args['skip-rate']) await ratePhase();
if (!args['skip-streams']) await streamsPhase();
