/**
 * Runs one step of a load plan (the whole run, or one sweep step): open loop on an absolute arrival
 * schedule, or closed loop with a concurrency target over time; then drains in-flight requests.
 *
 * Open loop never waits for responses to send: a slot that comes due while `cap` requests are in flight
 * waits in a FIFO queue, so its wait shows up as dispatch lag (and latency, which counts from the
 * scheduled time) instead of silently stretching the schedule.
 */
import { now } from './clock.ts';
import { countResult, emptyCounts } from './counts.ts';
import type { RequestFactory } from './data.ts';
import type { TargetClient } from './http.ts';
import { type ArrivalKind, ArrivalSchedule, phaseAt, type RateSegment, type Share } from './schedule.ts';
import { PreciseTimer } from './timer.ts';
import type { LoadProfile, Phase, PhaseEvent, RequestCounts, RequestResult, StepOutcome } from './types.ts';

export interface StepPlan {
  step: number;
  label: string;
  profile: LoadProfile;
  open?: {
    segments: RateSegment[];
    kind: ArrivalKind;
    /** Arrival RNG stream (differs per sweep step). */
    stream: number;
    share?: Share;
    /** Global slot limit (maxRequests), Infinity for none. */
    maxSlots: number;
    /** This runner's target rate, when it is a single number. */
    targetRate?: number;
  };
  closed?: {
    /** This runner's concurrency target at an offset from t0. */
    concurrencyAt: (offsetMs: number) => number;
    /** Whether the target changes over time (then it is re-read every 50 ms). */
    varying: boolean;
    /** This runner's request limit, Infinity for none. */
    maxRequests: number;
    share?: Share;
  };
  stageAt: (offsetMs: number) => number;
  totalMs: number;
  warmupMs: number;
  cooldownMs: number;
  /** Added to request indices (sweep steps continue the index sequence). */
  indexBase: number;
  /** In-flight cap (the pool size). */
  cap: number;
  /** Sample TTFT and backlog for the sweep's saturation test. */
  trackSaturation: boolean;
}

/** What a step needs from the run around it. */
export interface StepHost {
  readonly client: TargetClient;
  readonly factory: RequestFactory;
  readonly seed: number;
  readonly lateThresholdMs: number;
  readonly gracePeriodMs: number;
  readonly spinMs: number;
  readonly totals: RequestCounts;
  /** Called for each finished request after the step's own bookkeeping. */
  record(r: RequestResult): void;
  emit(e: PhaseEvent): void;
}

/** Time series for the saturation test: [offsetMs, value] pairs. */
export interface SaturationSamples {
  ttft: Array<[number, number]>;
  backlog: Array<[number, number]>;
}

interface Queued {
  index: number;
  scheduledAt: number;
  stage: number;
}

export class StepRunner {
  readonly plan: StepPlan;
  private readonly host: StepHost;
  readonly counts: RequestCounts = emptyCounts();
  readonly samples: SaturationSamples = { ttft: [], backlog: [] };
  t0 = 0;
  inFlight = 0;
  phase: Phase = 'warmup';
  stage = 0;
  private readonly timer: PreciseTimer;
  private queue: Queued[] = [];
  private queueHead = 0;
  /** No new slots will be taken (schedule ended or stop). Queued slots still go out unless stopped. */
  private scheduleDone = false;
  private stopped = false;
  private localSent = 0;
  private announcedPhase: Phase | undefined;
  private announcedStage = -1;
  /** Re-reads a varying closed-loop concurrency target. */
  private rampTimer: NodeJS.Timeout | undefined;
  /** Samples the backlog for the saturation test. */
  private sampler: NodeJS.Timeout | undefined;
  private endTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private resolveDone: (() => void) | undefined;
  private endedAt = 0;
  private readonly measure = { sent: 0, ok: 0, firstSent: 0, lastOkAt: 0 };
  private readonly sendFit = new SendRateFit();

  constructor(host: StepHost, plan: StepPlan) {
    this.host = host;
    this.plan = plan;
    this.timer = new PreciseTimer(host.spinMs);
  }

  /** Runs the step from `t0` (engine clock) until its schedule is done and nothing is in flight. */
  run(t0: number): Promise<void> {
    this.t0 = t0;
    return new Promise<void>((resolve) => {
      this.resolveDone = resolve;
      if (this.stopped) {
        this.checkDone();
        return;
      }
      if (this.plan.open) this.startOpen();
      else this.startClosed();
      if (this.plan.trackSaturation) {
        this.sampler = setInterval(() => {
          this.samples.backlog.push([now() - this.t0, this.inFlight + this.queued]);
        }, 100);
      }
      this.checkDone();
    });
  }

  /** Stop taking slots, drop queued ones, give in-flight requests the grace period, then cancel them. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.endSchedule();
    this.queue = [];
    this.queueHead = 0;
    if (this.inFlight > 0 && this.resolveDone) {
      this.graceTimer = setTimeout(
        () => this.host.client.cancelAll('cancelled at shutdown: still in flight when the grace period ended'),
        this.host.gracePeriodMs,
      );
    }
    this.checkDone();
  }

  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  private startOpen(): void {
    const o = this.plan.open as NonNullable<StepPlan['open']>;
    const schedule = new ArrivalSchedule(o.segments, o.kind, this.host.seed, o.share, o.maxSlots, o.stream);
    let next = schedule.next();
    if (!next) {
      this.endSchedule();
      return;
    }
    const base = this.plan.indexBase;
    const timer = this.timer;
    this.host.client.onRead = (t) => timer.poke(t);
    this.timer.start(this.t0 + next.offsetMs, (nowMs) => {
      while (next && this.t0 + next.offsetMs <= nowMs) {
        this.submit(base + next.index, this.t0 + next.offsetMs, next.segment);
        next = schedule.next();
      }
      if (!next || this.scheduleDone) {
        this.endSchedule();
        this.checkDone();
        return undefined;
      }
      return this.t0 + next.offsetMs;
    });
  }

  private submit(index: number, scheduledAt: number, stage: number): void {
    if (this.inFlight < this.plan.cap && this.queued === 0) this.send(index, scheduledAt, stage);
    else this.queue.push({ index, scheduledAt, stage });
  }

  private drainQueue(): void {
    while (this.inFlight < this.plan.cap && this.queueHead < this.queue.length) {
      const q = this.queue[this.queueHead++] as Queued;
      this.send(q.index, q.scheduledAt, q.stage);
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private startClosed(): void {
    const c = this.plan.closed as NonNullable<StepPlan['closed']>;
    if (Number.isFinite(this.plan.totalMs)) {
      const wait = Math.max(0, this.t0 + this.plan.totalMs - now());
      this.endTimer = setTimeout(() => {
        this.endSchedule();
        this.checkDone();
      }, wait);
    }
    if (c.varying) this.rampTimer = setInterval(() => this.refill(), 50);
    this.refill(this.t0); // the first streams are due at the step's start
  }

  /**
   * Closed loop: start requests until the concurrency target is met. A request is due when its stream
   * became free, i.e. now (or `dueAt` for the first streams).
   */
  private refill(dueAt?: number): void {
    if (this.scheduleDone) return;
    const c = this.plan.closed as NonNullable<StepPlan['closed']>;
    const t = dueAt ?? now();
    const offset = t - this.t0;
    if (offset >= this.plan.totalMs) {
      this.endSchedule();
      return;
    }
    const target = Math.min(this.plan.cap, c.concurrencyAt(offset));
    const stage = this.plan.stageAt(offset);
    while (this.inFlight < target && this.localSent < c.maxRequests) {
      const k = this.localSent++;
      const index = this.plan.indexBase + (c.share ? k * c.share.count + c.share.index : k);
      this.send(index, t, stage);
    }
    if (this.localSent >= c.maxRequests) this.endSchedule();
  }

  private send(index: number, scheduledAt: number, stage: number): void {
    const plan = this.plan;
    const host = this.host;
    const offset = scheduledAt - this.t0;
    const phase = phaseAt(offset, plan.warmupMs, plan.cooldownMs, plan.totalMs);
    this.phase = phase;
    this.stage = stage;
    if (phase !== this.announcedPhase) {
      this.announcedPhase = phase;
      host.emit({ kind: 'phase', phase, at: scheduledAt, step: plan.step });
    }
    if (stage !== this.announcedStage) {
      this.announcedStage = stage;
      host.emit({ kind: 'stage', stage, at: scheduledAt });
    }
    const req = host.factory.make(index);
    const body = host.client.buildBody(req);
    const r: RequestResult = {
      index,
      stage,
      step: plan.step,
      phase,
      scheduledAt,
      sentAt: 0,
      dispatchLagSeconds: 0,
      late: false,
      ok: false,
      itlSeconds: [],
      requestedOutputTokens: req.maxTokens,
    };
    if (req.requestedPromptTokens !== undefined) r.requestedPromptTokens = req.requestedPromptTokens;
    this.inFlight++;
    this.counts.sent++;
    host.totals.sent++;
    host.client.send(r, body, this.onDone);
    if (r.dispatchLagSeconds * 1000 > host.lateThresholdMs) {
      r.late = true;
      this.counts.late++;
      host.totals.late++;
    }
    if (phase === 'measure') {
      if (this.measure.sent === 0) this.measure.firstSent = r.sentAt;
      this.sendFit.add(this.measure.sent, r.sentAt - this.measure.firstSent);
      this.measure.sent++;
    }
  }

  private readonly onDone = (r: RequestResult): void => {
    this.inFlight--;
    countResult(this.counts, r);
    if (r.ok) {
      const t = now();
      const plan = this.plan;
      const offset = t - this.t0;
      if (offset >= plan.warmupMs && (!Number.isFinite(plan.totalMs) || offset < plan.totalMs - plan.cooldownMs)) {
        this.measure.ok++;
        this.measure.lastOkAt = t;
      }
      if (r.phase === 'measure' && plan.trackSaturation && r.ttftSeconds !== undefined) {
        this.samples.ttft.push([r.scheduledAt - this.t0, r.ttftSeconds]);
      }
    }
    this.host.record(r);
    if (!this.stopped) {
      if (this.plan.open) this.drainQueue();
      else this.refill();
    }
    this.checkDone();
  };

  private endSchedule(): void {
    if (!this.scheduleDone) {
      this.scheduleDone = true;
      this.endedAt = now();
    }
    this.timer.stop();
    if (this.plan.open) this.host.client.onRead = undefined;
    if (this.endTimer) clearTimeout(this.endTimer);
    if (this.rampTimer) clearInterval(this.rampTimer);
  }

  private checkDone(): void {
    if (!this.resolveDone || !this.scheduleDone || this.inFlight > 0 || this.queued > 0) return;
    if (this.sampler) clearInterval(this.sampler);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    const resolve = this.resolveDone;
    this.resolveDone = undefined;
    resolve();
  }

  outcome(): StepOutcome {
    const plan = this.plan;
    const m = this.measure;
    const out: StepOutcome = {
      step: plan.step,
      label: plan.label,
      profile: plan.profile,
      counts: this.counts,
      startedAt: this.t0,
      endedAt: now(),
    };
    if (plan.open?.targetRate !== undefined) out.targetRate = plan.open.targetRate;
    const rate = this.sendFit.rate();
    if (rate !== undefined) out.achievedRate = rate;
    // Throughput over the measure window [warmup, total − cooldown), cut short if the step ended early:
    // OK completions that happened inside it / its length.
    const start = this.t0 + plan.warmupMs;
    let end = Number.isFinite(plan.totalMs) ? this.t0 + plan.totalMs - plan.cooldownMs : m.lastOkAt;
    if (this.endedAt > 0 && this.endedAt < end) end = this.endedAt;
    if (end > start) {
      out.measureWindow = { startAt: start, endAt: end };
      if (m.ok > 0) out.completedRate = m.ok / ((end - start) / 1000);
    }
    return out;
  }
}

/**
 * Achieved send rate: 1 / the least-squares slope of actual send time over the send's ordinal. For a
 * perfect schedule it equals (n − 1)/(last − first) exactly; unlike that endpoint formula, one request
 * delayed at either end (a GC pause, the process losing its core) barely moves it. Kept as running sums.
 */
export class SendRateFit {
  private n = 0;
  private sx = 0;
  private sy = 0;
  private sxx = 0;
  private sxy = 0;

  /** `ordinal`: 0, 1, 2, …; `offsetMs`: send time relative to the first send. */
  add(ordinal: number, offsetMs: number): void {
    this.n++;
    this.sx += ordinal;
    this.sy += offsetMs;
    this.sxx += ordinal * ordinal;
    this.sxy += ordinal * offsetMs;
  }

  /** Requests per second, or undefined with fewer than two sends or no time between them. */
  rate(): number | undefined {
    const n = this.n;
    if (n < 2) return undefined;
    const den = n * this.sxx - this.sx * this.sx;
    const slopeMs = (n * this.sxy - this.sx * this.sy) / den;
    return slopeMs > 0 ? 1000 / slopeMs : undefined;
  }
}
