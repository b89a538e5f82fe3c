/**
 * runLoad: validates, calibrates prompt sizing, waits for the agreed start, runs the plan (one step, or the
 * sweep's steps), and returns counts and per-step outcomes. Per-request results stream out through
 * hooks.onResult; the stats layer turns them into histograms.
 *
 * Stopping: `options.signal` or reaching `maxErrors` stops new requests at once, lets in-flight requests
 * finish within the grace period, then cancels the rest (they are reported as `cancelled`).
 */
import { calibratePrompts } from './calibrate.ts';
import { now, toClock } from './clock.ts';
import { countResult, emptyCounts } from './counts.ts';
import { RequestFactory } from './data.ts';
import { TargetClient } from './http.ts';
import { RngStream } from './random.ts';
import { concurrencyAt, type RateSegment, segmentsFromStages, shareOf, stageAt } from './schedule.ts';
import { type StepHost, type StepPlan, StepRunner } from './step.ts';
import { judgeSaturation, sweepRates } from './sweep.ts';
import { PreciseTimer } from './timer.ts';
import type {
  DataSpec,
  LoadSpec,
  PhaseEvent,
  RequestCounts,
  RequestResult,
  RunHooks,
  RunOptions,
  RunOutcome,
  RunProgress,
  StepOutcome,
  StopReason,
  TargetSpec,
} from './types.ts';
import { isOpenLoop, plannedSeconds, validateLoad } from './validate.ts';

const DEFAULT_LATE_THRESHOLD_MS = 10;
const DEFAULT_GRACE_MS = 30_000;
const DEFAULT_PROGRESS_MS = 1_000;
/** Sub-millisecond polling before each due time (see timer.ts). */
const DEFAULT_SPIN_MS = 1;
const START_LEAD_MS = 50;

class Run implements StepHost {
  readonly client: TargetClient;
  readonly factory: RequestFactory;
  readonly seed: number;
  readonly lateThresholdMs: number;
  readonly gracePeriodMs: number;
  readonly spinMs: number;
  readonly totals: RequestCounts = emptyCounts();
  readonly steps: StepOutcome[] = [];
  readonly load: LoadSpec;
  private readonly hooks: RunHooks;
  stopReason: StopReason | undefined;
  current: StepRunner | undefined;
  t0 = 0;
  private hookError = false;
  private readonly promptError = { abs: 0, rel: 0, n: 0 };
  private readonly stopWaiters: Array<() => void> = [];

  constructor(target: TargetSpec, load: LoadSpec, data: DataSpec, hooks: RunHooks, options: RunOptions) {
    this.factory = new RequestFactory(data);
    this.client = new TargetClient(target);
    this.seed = data.seed;
    this.load = load;
    this.hooks = hooks;
    this.lateThresholdMs = load.lateThresholdMs ?? DEFAULT_LATE_THRESHOLD_MS;
    this.gracePeriodMs = options.gracePeriodMs ?? DEFAULT_GRACE_MS;
    this.spinMs = options.spinMs ?? DEFAULT_SPIN_MS;
  }

  record(r: RequestResult): void {
    countResult(this.totals, r);
    if (r.ok && r.promptTokens !== undefined && r.requestedPromptTokens !== undefined) {
      const diff = Math.abs(r.promptTokens - r.requestedPromptTokens);
      this.promptError.abs += diff;
      this.promptError.rel += diff / r.requestedPromptTokens;
      this.promptError.n++;
    }
    this.callHook(() => this.hooks.onResult?.(r));
    const maxErrors = this.load.maxErrors;
    if (maxErrors !== undefined && this.totals.failed - this.totals.errors.cancelled >= maxErrors) {
      this.requestStop('maxErrors');
    }
  }

  emit(e: PhaseEvent): void {
    this.callHook(() => this.hooks.onPhase?.(e));
  }

  progress(): RunProgress {
    const s = this.current;
    return {
      elapsedSeconds: (now() - this.t0) / 1000,
      phase: s?.phase ?? 'warmup',
      stage: s?.stage ?? 0,
      step: s?.plan.step ?? 0,
      sent: this.totals.sent,
      completed: this.totals.completed,
      ok: this.totals.ok,
      failed: this.totals.failed,
      inFlight: this.client.inFlight,
      late: this.totals.late,
    };
  }

  reportProgress(): void {
    this.callHook(() => this.hooks.onProgress?.(this.progress()));
  }

  requestStop(reason: StopReason): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.emit({ kind: 'stopping', reason, at: now() });
    this.current?.stop();
    for (const w of this.stopWaiters.splice(0)) w();
  }

  /** Resolves at `at` (engine clock) or as soon as a stop is requested. */
  waitUntil(at: number): Promise<void> {
    if (this.stopReason || now() >= at) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = new PreciseTimer(this.spinMs);
      const done = () => {
        timer.stop();
        resolve();
      };
      this.stopWaiters.push(done);
      timer.start(at, () => {
        done();
        return undefined;
      });
    });
  }

  async runStep(plan: StepPlan, t0: number): Promise<StepOutcome> {
    const runner = new StepRunner(this, plan);
    this.current = runner;
    this.emit({
      kind: 'step-start',
      step: plan.step,
      label: plan.label,
      profile: plan.profile,
      ...(plan.open?.targetRate !== undefined ? { rate: plan.open.targetRate } : {}),
      at: t0,
    });
    if (this.stopReason) runner.stop();
    await runner.run(t0);
    const outcome = runner.outcome();
    this.steps.push(outcome);
    return outcome;
  }

  finishStep(outcome: StepOutcome): void {
    this.emit({ kind: 'step-end', step: outcome.step, at: now(), outcome });
  }

  outcome(startedAt: number): RunOutcome {
    const out: RunOutcome = {
      stopReason: this.stopReason ?? this.naturalStop(),
      startedAt,
      endedAt: now(),
      steps: this.steps,
      counts: this.totals,
      calibration: this.factory.currentCalibration,
    };
    if (this.promptError.n > 0) {
      out.promptTokenError = {
        meanAbsTokens: this.promptError.abs / this.promptError.n,
        meanRelative: this.promptError.rel / this.promptError.n,
        samples: this.promptError.n,
      };
    }
    return out;
  }

  private naturalStop(): StopReason {
    const max = this.load.maxRequests;
    return max !== undefined && this.totals.sent >= shareOf(max, this.load.share) ? 'maxRequests' : 'duration';
  }

  private callHook(f: () => void): void {
    try {
      f();
    } catch (err) {
      if (!this.hookError) {
        this.hookError = true;
        process.emitWarning(`loadlm engine: a run hook threw (further hook errors are not reported): ${err}`);
      }
    }
  }
}

function basePlan(run: Run, step: number, label: string, totalSeconds: number | undefined): StepPlan {
  const load = run.load;
  return {
    step,
    label,
    profile: load.profile,
    stageAt: () => 0,
    totalMs: totalSeconds === undefined ? Number.POSITIVE_INFINITY : totalSeconds * 1000,
    warmupMs: load.warmupSeconds * 1000,
    cooldownMs: load.cooldownSeconds * 1000,
    indexBase: 0,
    cap: run.client.target.maxConnections,
    trackSaturation: false,
  };
}

/** The plan of a non-sweep run. */
function singlePlan(run: Run): StepPlan {
  const load = run.load;
  const share = load.share;
  const plan = basePlan(run, 0, load.profile, plannedSeconds(load));
  const stages = load.stages;
  if (stages) plan.stageAt = (offset) => stageAt(stages, offset);
  if (isOpenLoop(load.profile)) {
    const segments: RateSegment[] = stages
      ? segmentsFromStages(stages)
      : [{ startMs: 0, endMs: plan.totalMs, fromRate: load.rate as number, toRate: load.rate as number }];
    plan.open = {
      segments,
      kind: load.profile === 'poisson' ? 'poisson' : 'constant',
      stream: RngStream.arrivals,
      maxSlots: load.maxRequests ?? Number.POSITIVE_INFINITY,
    };
    if (share) plan.open.share = share;
    if (!stages) plan.open.targetRate = (load.rate as number) / (share?.count ?? 1);
    return plan;
  }
  const fixed =
    load.profile === 'synchronous'
      ? 1
      : load.profile === 'throughput'
        ? (load.concurrency ?? run.client.target.maxConnections * (share?.count ?? 1))
        : (load.concurrency as number);
  plan.closed = {
    concurrencyAt: stages ? (offset) => shareOf(concurrencyAt(stages, offset), share) : () => shareOf(fixed, share),
    varying: stages !== undefined,
    maxRequests: load.maxRequests !== undefined ? shareOf(load.maxRequests, share) : Number.POSITIVE_INFINITY,
  };
  if (share) plan.closed.share = share;
  return plan;
}

async function runSweep(run: Run, t0: number): Promise<void> {
  const load = run.load;
  const sweep = load.sweep as NonNullable<LoadSpec['sweep']>;
  const stepSeconds = sweep.stepSeconds;
  const remaining = () =>
    load.maxRequests === undefined ? Number.POSITIVE_INFINITY : Math.max(0, load.maxRequests - run.totals.sent);
  const closedPlan = (step: number, label: string, profile: 'synchronous' | 'throughput', c: number): StepPlan => {
    const plan = basePlan(run, step, label, stepSeconds);
    plan.profile = profile;
    plan.indexBase = run.totals.sent;
    plan.closed = { concurrencyAt: () => c, varying: false, maxRequests: remaining() };
    return plan;
  };
  const completed = (o: StepOutcome) => o.completedRate ?? 0;

  let start = t0;
  const sync = await run.runStep(closedPlan(0, 'synchronous', 'synchronous', 1), start);
  run.finishStep(sync);
  if (run.stopReason || remaining() === 0) return;
  start = now();
  const maxC = load.concurrency ?? run.client.target.maxConnections;
  const thr = await run.runStep(closedPlan(1, 'throughput', 'throughput', maxC), start);
  run.finishStep(thr);
  if (run.stopReason || remaining() === 0) return;
  const rates = sweepRates(completed(sync), completed(thr), sweep.rates).filter((r) => r > 0);
  const kind = sweep.profile ?? 'constant';
  for (let j = 0; j < rates.length; j++) {
    const rate = rates[j] as number;
    const step = j + 2;
    const plan = basePlan(run, step, `${kind}@${rate.toFixed(2)}`, stepSeconds);
    plan.profile = kind;
    plan.indexBase = run.totals.sent;
    plan.trackSaturation = true;
    plan.open = {
      segments: [{ startMs: 0, endMs: plan.totalMs, fromRate: rate, toRate: rate }],
      kind,
      stream: RngStream.arrivals + 16 * step,
      maxSlots: remaining(),
      targetRate: rate,
    };
    start = now();
    const o = await run.runStep(plan, start);
    if (!run.stopReason) {
      const verdict = judgeSaturation({
        targetRate: rate,
        completedRate: o.completedRate,
        samples: (run.current as StepRunner).samples,
        windowStartMs: plan.warmupMs,
        windowEndMs: plan.totalMs - plan.cooldownMs,
      });
      o.saturated = verdict.saturated;
      if (verdict.reason) o.saturationReason = verdict.reason;
    }
    run.finishStep(o);
    if (o.saturated) {
      run.requestStop('saturated');
      return;
    }
    if (run.stopReason || remaining() === 0) return;
  }
}

export async function runLoad(
  target: TargetSpec,
  load: LoadSpec,
  data: DataSpec,
  hooks: RunHooks = {},
  options: RunOptions = {},
): Promise<RunOutcome> {
  validateLoad(load, target);
  const run = new Run(target, load, data, hooks, options);
  const startedAt = now();
  const signal = options.signal;
  const onAbort = () => run.requestStop('signal');
  signal?.addEventListener('abort', onAbort, { once: true });
  let progressTimer: NodeJS.Timeout | undefined;
  try {
    if (signal?.aborted) {
      run.requestStop('signal');
      return run.outcome(startedAt);
    }
    if (!run.factory.usesDataset && data.calibration !== 'off') {
      const calibration = await calibratePrompts(run.client, data);
      run.factory.setCalibration(calibration);
      run.emit({ kind: 'calibrated', calibration });
    }
    // Without an agreed start, begin shortly after setup so first-use costs do not show up as dispatch lag.
    const t0 = load.startAt !== undefined ? toClock(load.startAt) : now() + START_LEAD_MS;
    run.t0 = t0;
    run.client.buildBody(run.factory.make(0)); // warm the request-building path before the clock starts
    await run.waitUntil(t0);
    if (run.stopReason) return run.outcome(startedAt);
    run.emit({ kind: 'start', at: t0 });
    progressTimer = setInterval(() => run.reportProgress(), options.progressIntervalMs ?? DEFAULT_PROGRESS_MS);
    progressTimer.unref();
    if (load.profile === 'sweep') await runSweep(run, t0);
    else run.finishStep(await run.runStep(singlePlan(run), t0));
    run.reportProgress();
    return run.outcome(startedAt);
  } finally {
    if (progressTimer) clearInterval(progressTimer);
    signal?.removeEventListener('abort', onAbort);
    await run.client.close();
  }
}
