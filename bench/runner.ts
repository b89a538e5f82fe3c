/**
 * `npm run bench:runner`: the load-generation engine on one core against the simulator in another process.
 *
 * Prints:
 *   - completed streamed requests/s, 128 output tokens at one token per chunk (profile throughput);
 *   - dispatch lag p50/p99 (and late requests) at constant 100, 500 and 1,000 req/s, same streams;
 *   - RSS with 1,000 and 10,000 concurrent open streams (simulator with a long ITL keeps them open);
 *   - CPU time (user + system) per request.
 * Targets: ≥ 1,000 req/s on one core; lag p99 ≤ 2 ms at 1,000 req/s; 10,000 streams in ≤ 1 GiB.
 *
 * Layout: this process only orchestrates. Each scenario runs in a child process pinned with
 * `taskset -c 0`, the simulator in its own process pinned with `taskset -c 1` (unpinned, with a warning,
 * when taskset or a second core is missing). Whole run: about two minutes.
 *
 *   node bench/runner.ts                # everything
 *   node bench/runner.ts --quick        # shorter scenarios (smoke test of the bench itself)
 *   node bench/runner.ts --only lag     # one part: throughput | lag | rss
 *   node bench/runner.ts --spin-ms 0    # dispatcher polling window for the lag part (engine default 1)
 *   node bench/runner.ts --repeat 3     # run each lag rate 3 times (prints each run and the median p99)
 *   node bench/runner.ts --node-flags '--max-semi-space-size=16'   # node/V8 flags of the runner process
 *
 * The runner process gets RUNNER_NODE_FLAGS unless --node-flags is given ('' for Node's defaults): the
 * flags the runner image should run with (see the constant).
 *
 * Every scenario line is followed by what disturbed it: the simulator's CPU use, the load average, the
 * runner's event-loop delay, its main thread's time waiting for a core (other processes), GC pauses.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { runLoad } from '../runner/engine/index.ts';
import type { DataSpec, LoadSpec, RequestResult, RunOutcome, TargetSpec } from '../runner/engine/types.ts';
import { Histogram } from '../runner/stats/index.ts';

const root = join(import.meta.dirname, '..');
/**
 * Node flags for the runner process. A 4 MiB semi-space (Node's default: 16 MiB on 64-bit) makes each
 * scavenge copy the young objects of a few dozen requests instead of every in-flight one: scavenge pauses
 * drop from ≈ 3–5 ms to < 1 ms, which is what dispatch lag p99 is made of at 1,000 req/s, for ≈ 3% more
 * CPU spent in GC. The runner image should set the same (NODE_OPTIONS accepts this flag).
 */
const RUNNER_NODE_FLAGS = ['--max-semi-space-size=4'];
const MODEL = 'bench-model';

type Scenario =
  | { kind: 'throughput'; url: string; concurrency: number; seconds: number; warmupSeconds: number }
  | { kind: 'lag'; url: string; rate: number; seconds: number; warmupSeconds: number; spinMs?: number }
  | { kind: 'rss'; url: string; streams: number; holdSeconds: number };

interface ScenarioResult {
  [key: string]: number | string | undefined;
}

// ---------------------------------------------------------------- child side: one scenario, one process

function target(url: string, maxConnections: number): TargetSpec {
  return {
    url,
    model: MODEL,
    api: 'chat',
    stream: true,
    timeouts: { connectMs: 30_000, headersMs: 60_000, bodyIdleMs: 60_000 },
    maxConnections,
  };
}

function data(outputTokens: number): DataSpec {
  return {
    promptTokens: { kind: 'fixed', value: 32 },
    outputTokens: { kind: 'fixed', value: outputTokens },
    sharedPrefixTokens: 0,
    seed: 1,
    calibration: 'off',
  };
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

/**
 * Signs of CPU contention from other processes (the machine is shared): involuntary context switches and
 * event-loop delay. High loop delay at low CPU use means the runner was waiting for a core, not working.
 */
function contention(): () => ScenarioResult {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const before = process.resourceUsage().involuntaryContextSwitches;
  const wait0 = runQueueWaitMs();
  const wall0 = performance.now();
  const gc = { count: 0, totalMs: 0, maxMs: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.totalMs += e.duration;
      gc.maxMs = Math.max(gc.maxMs, e.duration);
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  return () => {
    loop.disable();
    gcObserver.disconnect();
    const wait1 = runQueueWaitMs();
    const wallS = (performance.now() - wall0) / 1000;
    return {
      involuntaryContextSwitches: process.resourceUsage().involuntaryContextSwitches - before,
      loopDelayP99Ms: loop.percentile(99) / 1e6,
      loopDelayMaxMs: loop.max / 1e6,
      runQueueWaitShare: wait0 !== undefined && wait1 !== undefined ? (wait1 - wait0) / 1000 / wallS : undefined,
      gcPausesPerSecond: gc.count / wallS,
      gcMsPerSecond: gc.totalMs / wallS,
      gcMaxPauseMs: gc.maxMs,
    };
  };
}

/** Time the main thread has spent runnable but waiting for a core (Linux schedstat), in ms. */
function runQueueWaitMs(): number | undefined {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ');
    return Number(fields[1]) / 1e6;
  } catch {
    return undefined;
  }
}

async function throughputScenario(s: Extract<Scenario, { kind: 'throughput' }>): Promise<ScenarioResult> {
  const load: LoadSpec = {
    profile: 'throughput',
    concurrency: s.concurrency,
    durationSeconds: s.seconds,
    warmupSeconds: s.warmupSeconds,
    cooldownSeconds: 0,
  };
  let tokens = 0;
  let estimated = 0;
  const load0 = contention();
  const cpu = process.cpuUsage();
  const wall = performance.now();
  const out: RunOutcome = await runLoad(target(s.url, s.concurrency), load, data(128), {
    onResult: (r: RequestResult) => {
      tokens += r.outputTokens ?? 0;
      if (r.outputTokensEstimated) estimated++;
    },
  });
  const cpuS = cpuSeconds(cpu);
  const wallS = (performance.now() - wall) / 1000;
  const step = out.steps[0];
  return {
    completedPerSecond: step?.completedRate,
    ok: out.counts.ok,
    failed: out.counts.failed,
    meanTokensPerRequest: tokens / Math.max(1, out.counts.completed),
    estimatedTokenCounts: estimated,
    cpuMsPerRequest: (cpuS * 1000) / Math.max(1, out.counts.completed),
    cpuUtilization: cpuS / wallS,
    ...load0(),
  };
}

async function lagScenario(s: Extract<Scenario, { kind: 'lag' }>): Promise<ScenarioResult> {
  const lag = new Histogram();
  const load: LoadSpec = {
    profile: 'constant',
    rate: s.rate,
    durationSeconds: s.seconds,
    warmupSeconds: s.warmupSeconds,
    cooldownSeconds: 0,
  };
  const load0 = contention();
  const cpu = process.cpuUsage();
  const wall = performance.now();
  const out = await runLoad(
    target(s.url, 4096),
    load,
    data(128),
    {
      onResult: (r) => {
        if (r.phase === 'measure') lag.record(r.dispatchLagSeconds);
      },
    },
    s.spinMs === undefined ? {} : { spinMs: s.spinMs },
  );
  const cpuS = cpuSeconds(cpu);
  const sum = lag.summary();
  return {
    targetRate: s.rate,
    achievedRate: out.steps[0]?.achievedRate,
    lagP50Ms: sum.p50 * 1000,
    lagP99Ms: sum.p99 * 1000,
    lagMaxMs: sum.max * 1000,
    late: out.counts.late,
    sent: out.counts.sent,
    failed: out.counts.failed,
    cpuMsPerRequest: (cpuS * 1000) / Math.max(1, out.counts.completed),
    cpuUtilization: cpuS / ((performance.now() - wall) / 1000),
    ...load0(),
  };
}

async function rssScenario(s: Extract<Scenario, { kind: 'rss' }>): Promise<ScenarioResult> {
  const controller = new AbortController();
  const rssBefore = process.memoryUsage().rss;
  let firstTokens = 0;
  let openAt = 0;
  let peakRss = 0;
  let sampledRss = 0;
  let heapUsed = 0;
  const load: LoadSpec = {
    profile: 'concurrent',
    concurrency: s.streams,
    durationSeconds: 600,
    warmupSeconds: 0,
    cooldownSeconds: 0,
  };
  const started = performance.now();
  const done = runLoad(
    target(s.url, s.streams),
    load,
    data(100_000),
    {
      onProgress: (p) => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        if (p.inFlight >= s.streams && openAt === 0) {
          openAt = performance.now();
          setTimeout(() => {
            const m = process.memoryUsage();
            sampledRss = m.rss;
            heapUsed = m.heapUsed;
            controller.abort();
          }, s.holdSeconds * 1000);
        }
      },
      onResult: (r) => {
        if (r.ttftSeconds !== undefined) firstTokens++;
      },
    },
    { signal: controller.signal, gracePeriodMs: 0, progressIntervalMs: 250 },
  );
  const timeout = setTimeout(() => controller.abort(), 90_000);
  const out = await done;
  clearTimeout(timeout);
  return {
    streams: s.streams,
    reachedAllOpen: openAt > 0 ? 'yes' : 'no',
    secondsToOpen: openAt > 0 ? (openAt - started) / 1000 : undefined,
    streamsWithFirstToken: firstTokens,
    rssMiB: sampledRss / 2 ** 20,
    peakRssMiB: peakRss / 2 ** 20,
    rssBeforeMiB: rssBefore / 2 ** 20,
    heapUsedMiB: heapUsed / 2 ** 20,
    cancelled: out.counts.errors.cancelled,
    otherErrors: out.counts.failed - out.counts.errors.cancelled,
  };
}

async function childMain(spec: Scenario): Promise<void> {
  const result =
    spec.kind === 'throughput'
      ? await throughputScenario(spec)
      : spec.kind === 'lag'
        ? await lagScenario(spec)
        : await rssScenario(spec);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------- parent side: orchestration

const canPin = availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;

function pinned(core: number, args: string[]): [string, string[]] {
  return canPin ? ['taskset', ['-c', String(core), process.execPath, ...args]] : [process.execPath, args];
}

interface Sim {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function processCpuSeconds(pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime in USER_HZ (100 on Linux)
  } catch {
    return undefined;
  }
}

/** Runs a scenario and adds the simulator's CPU use and the machine's load average over it. */
async function measured(sim: Sim, spec: Scenario): Promise<ScenarioResult> {
  const cpu0 = processCpuSeconds(sim.child.pid);
  const t0 = performance.now();
  const result = await runChild(spec);
  const cpu1 = processCpuSeconds(sim.child.pid);
  const wall = (performance.now() - t0) / 1000;
  if (cpu0 !== undefined && cpu1 !== undefined) result.simCpuUtilization = (cpu1 - cpu0) / wall;
  result.loadAverage = loadavg()[0];
  return result;
}

function contentionLine(r: ScenarioResult): string {
  const waited = r.runQueueWaitShare === undefined ? 'n/a' : `${fmt((r.runQueueWaitShare as number) * 100, 0)}%`;
  return (
    `    [sim CPU ${fmt((r.simCpuUtilization as number) * 100, 0)}%, load avg ${fmt(r.loadAverage, 2)}, ` +
    `runner loop delay p99 ${fmt(r.loopDelayP99Ms, 1)} ms / max ${fmt(r.loopDelayMaxMs, 1)} ms, ` +
    `main thread waiting for a core ${waited} of the time, involuntary context switches ${r.involuntaryContextSwitches}, ` +
    `GC ${fmt(r.gcPausesPerSecond, 1)} pauses/s, ${fmt(r.gcMsPerSecond, 1)} ms/s, longest ${fmt(r.gcMaxPauseMs, 1)} ms]`
  );
}

function startSim(flags: string[]): Promise<Sim> {
  const [cmd, args] = pinned(1, [join(root, 'runner/sim/process.ts'), '--port', '0', '--model', MODEL, ...flags]);
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('simulator did not become READY within 15 s')), 15_000);
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /READY (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1] as string,
          child,
          stop: async () => {
            child.kill('SIGTERM');
            await exited;
          },
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`simulator exited (${code}) before READY`)));
  });
}

/** Node flags of the runner process (set once from the command line). */
let runnerNodeFlags: string[] = RUNNER_NODE_FLAGS;

function runChild(spec: Scenario): Promise<ScenarioResult> {
  const [cmd, args] = pinned(0, [...runnerNodeFlags, import.meta.filename, '--scenario', JSON.stringify(spec)]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      const m = /RESULT (.*)/.exec(out);
      if (code === 0 && m) resolve(JSON.parse(m[1] as string) as ScenarioResult);
      else reject(new Error(`scenario ${spec.kind} exited with ${code}: ${out}`));
    });
  });
}

const fmt = (v: number | string | undefined, digits = 1) =>
  typeof v === 'number' ? v.toFixed(digits) : (v ?? 'n/a').toString();

interface BenchOptions {
  quick: boolean;
  only: string | undefined;
  spinMs: number | undefined;
  repeat: number;
}

async function parentMain({ quick, only, spinMs, repeat }: BenchOptions): Promise<void> {
  const wanted = (part: string) => only === undefined || only === part;
  const scale = quick ? 0.3 : 1;
  const secs = (s: number) => Math.max(2, Math.round(s * scale));
  console.log(`loadlm bench:runner — node ${process.version}, ${availableParallelism()} cores`);
  console.log(
    canPin
      ? 'runner pinned to core 0, simulator to core 1 (taskset), separate processes'
      : 'WARNING: taskset or a second core unavailable: processes are not pinned',
  );
  console.log(`runner node flags: ${runnerNodeFlags.join(' ') || '(none)'}`);

  // Fast streams: 128 tokens at 1 ms ITL on a 1 ms tick, one token per chunk.
  if (wanted('throughput') || wanted('lag')) {
    const fast = await startSim(['--ttft-ms', '1', '--itl-ms', '1', '--tick-ms', '1', '--max-num-seqs', '4096']);
    try {
      if (wanted('throughput'))
        console.log('\n# streamed throughput (profile throughput, 128 output tokens, 1 token per chunk)');
      for (const concurrency of wanted('throughput') ? [256, 512] : []) {
        const r = await measured(fast, {
          kind: 'throughput',
          url: fast.url,
          concurrency,
          seconds: secs(12),
          warmupSeconds: 2,
        });
        const capacity = 1000 / (r.cpuMsPerRequest as number);
        console.log(
          `concurrency ${concurrency}: ${fmt(r.completedPerSecond)} completed req/s, ` +
            `${fmt(r.cpuMsPerRequest, 3)} ms CPU/request (≈ ${fmt(capacity, 0)} req/s per fully used core), ` +
            `runner CPU ${fmt((r.cpuUtilization as number) * 100, 0)}% of a core, ` +
            `${fmt(r.meanTokensPerRequest)} tokens/request, ok ${r.ok}, failed ${r.failed}`,
        );
        console.log(contentionLine(r));
      }
      if (wanted('lag')) console.log('\n# dispatch lag at constant rates (same 128-token streams; late = lag > 10 ms)');
      for (const rate of wanted('lag') ? [100, 500, 1000] : []) {
        const p99s: number[] = [];
        for (let run = 0; run < repeat; run++) {
          const spec: Scenario = { kind: 'lag', url: fast.url, rate, seconds: secs(10), warmupSeconds: 2 };
          if (spinMs !== undefined) spec.spinMs = spinMs;
          const r = await measured(fast, spec);
          p99s.push(r.lagP99Ms as number);
          console.log(
            `${rate} req/s${repeat > 1 ? ` (run ${run + 1}/${repeat})` : ''}: lag p50 ${fmt(r.lagP50Ms, 3)} ms, ` +
              `p99 ${fmt(r.lagP99Ms, 3)} ms, max ${fmt(r.lagMaxMs, 2)} ms, ` +
              `late ${r.late}/${r.sent}, achieved ${fmt(r.achievedRate, 2)} req/s, ${fmt(r.cpuMsPerRequest, 3)} ms CPU/request, ` +
              `runner CPU ${fmt((r.cpuUtilization as number) * 100, 0)}%, failed ${r.failed}`,
          );
          console.log(contentionLine(r));
        }
        if (repeat > 1) {
          const sorted = [...p99s].sort((a, b) => a - b);
          console.log(`${rate} req/s: median lag p99 of ${repeat} runs ${fmt(sorted[Math.floor(repeat / 2)], 3)} ms`);
        }
      }
    } finally {
      await fast.stop();
    }
  }

  if (!wanted('rss')) return;
  // Slow streams: a token per second keeps every stream open while memory is sampled.
  const slow = await startSim([
    '--ttft-ms',
    '50',
    '--itl-ms',
    '1000',
    '--max-num-seqs',
    '20000',
    '--max-model-len',
    '1000000',
    '--keep-alive-timeout-ms',
    '120000',
  ]);
  try {
    console.log('\n# memory with concurrent open streams');
    for (const streams of [1000, 10_000]) {
      const r = await measured(slow, { kind: 'rss', url: slow.url, streams, holdSeconds: 3 });
      console.log(
        `${streams} streams: RSS ${fmt(r.rssMiB)} MiB (peak ${fmt(r.peakRssMiB)} MiB, idle ${fmt(r.rssBeforeMiB)} MiB, ` +
          `heap ${fmt(r.heapUsedMiB)} MiB), all open: ${r.reachedAllOpen} after ${fmt(r.secondsToOpen, 2)} s, ` +
          `cancelled at the end ${r.cancelled}, other errors ${r.otherErrors}`,
      );
    }
  } finally {
    await slow.stop();
  }
}

const scenarioArg = process.argv.indexOf('--scenario');
if (scenarioArg !== -1) await childMain(JSON.parse(process.argv[scenarioArg + 1] as string) as Scenario);
else {
  const onlyArg = process.argv.indexOf('--only');
  const only = onlyArg === -1 ? undefined : process.argv[onlyArg + 1];
  if (only !== undefined && !['throughput', 'lag', 'rss'].includes(only)) {
    console.error(`--only: expected throughput, lag or rss, got ${JSON.stringify(only)}`);
    process.exit(2);
  }
  const spinArg = process.argv.indexOf('--spin-ms');
  const spinMs = spinArg === -1 ? undefined : Number(process.argv[spinArg + 1]);
  if (spinMs !== undefined && !(spinMs >= 0)) {
    console.error('--spin-ms: expected a number ≥ 0');
    process.exit(2);
  }
  const repeatArg = process.argv.indexOf('--repeat');
  const repeat = repeatArg === -1 ? 1 : Number(process.argv[repeatArg + 1]);
  if (!Number.isInteger(repeat) || repeat < 1) {
    console.error('--repeat: expected an integer ≥ 1');
    process.exit(2);
  }
  const flagsArg = process.argv.indexOf('--node-flags');
  if (flagsArg !== -1) {
    const text = process.argv[flagsArg + 1];
    if (text === undefined) {
      console.error("--node-flags: expected the runner's node flags as one argument ('' for none)");
      process.exit(2);
    }
    runnerNodeFlags = text.split(/\s+/).filter((f) => f !== '');
  }
  await parentMain({ quick: process.argv.includes('--quick'), only, spinMs, repeat });
}
