import type { Fault, FaultKind } from './faults.ts';
import type { FinishedReason, SimMetrics } from './metrics.ts';
import { createRandom, type Random, uniformInt } from './random.ts';
import { DONE_EVENT, type FinishReason, type StreamRenderer } from './render.ts';
import { BadRequest, type InferenceRequest } from './requests.ts';
import type { TickScheduler, Timed } from './scheduler.ts';
import { LatenessRecorder } from './stats.ts';
import { chunkEnd, type TimingConfig, TimingModel } from './timing.ts';

/** Where a generation's bytes go; implemented by the HTTP layer (and by fakes in tests). */
export interface ResponseSink {
  /** Streaming: sends 200 + SSE headers now, then `events` (may be empty). */
  startStream(events: string): void;
  /** Streaming: one write of one or more SSE events. */
  write(events: string): void;
  /** Streaming: the last write; ends the response. */
  end(events: string): void;
  /** Non-streaming: a complete JSON response. */
  respond(status: number, body: string): void;
  /** Resets the TCP connection (RST). */
  reset(): void;
}

export interface EngineConfig extends TimingConfig {
  maxNumSeqs: number;
  tokensPerChunk: number;
  eosMinTokens: number;
  eosMaxTokens: number;
  maxModelLen: number;
  seed: number;
}

export interface OutputPlan {
  outputTokens: number;
  finishReason: FinishReason;
}

/** Non-streaming bodies are rendered by the HTTP layer; the engine only says when and how it ends. */
export interface NonStreamingBody {
  complete(): string;
  malformed(): string;
}

type State = 'waiting' | 'running' | 'done';

const HALTS = new Set<FaultKind>(['reset', 'stall']);

/**
 * The simulated engine: at most maxNumSeqs generations run, the rest wait in FIFO order (their wait
 * adds to their TTFT, as in vLLM). Each running generation is a small state machine on the tick wheel.
 */
export class Engine {
  readonly config: EngineConfig;
  readonly metrics: SimMetrics;
  readonly scheduler: TickScheduler;
  readonly timing: TimingModel;
  readonly lateness = new LatenessRecorder();
  readonly #eosRandom: Random;
  readonly #running = new Set<Generation>();
  #queue: Generation[] = [];
  #queueHead = 0;
  #waiting = 0;
  #maxWaiting = 0;
  #completed = 0;
  #aborted = 0;
  /** Inference requests that passed validation (faulted ones included). */
  accepted = 0;
  readonly faultCounts: Record<string, number> = {};

  constructor(config: EngineConfig, metrics: SimMetrics, scheduler: TickScheduler) {
    this.config = config;
    this.metrics = metrics;
    this.scheduler = scheduler;
    this.timing = new TimingModel(config, createRandom(config.seed, 1));
    this.#eosRandom = createRandom(config.seed, 3);
  }

  get running(): number {
    return this.#running.size;
  }

  get waiting(): number {
    return this.#waiting;
  }

  get maxWaiting(): number {
    return this.#maxWaiting;
  }

  get completed(): number {
    return this.#completed;
  }

  get aborted(): number {
    return this.#aborted;
  }

  /** Tokens held in the simulated KV cache by running generations. */
  kvTokens(): number {
    let tokens = 0;
    for (const generation of this.#running) tokens += generation.request.promptTokens + generation.sent;
    return tokens;
  }

  /**
   * Decides the output length, rejecting requests that do not fit the context like vLLM does.
   * With ignore_eos the output is exactly max_tokens; otherwise a seeded EOS position in
   * [eosMinTokens, eosMaxTokens] (at least min_tokens) ends it first if it comes before max_tokens.
   */
  plan(request: InferenceRequest): OutputPlan {
    const { maxModelLen, eosMinTokens, eosMaxTokens } = this.config;
    const requested = request.maxTokens ?? 0;
    if (request.promptTokens + requested > maxModelLen || request.promptTokens >= maxModelLen) {
      throw new BadRequest(
        `This model's maximum context length is ${maxModelLen} tokens. However, you requested ${request.promptTokens + requested} tokens (${request.promptTokens} in the messages, ${requested} in the completion). Please reduce the length of the messages or completion.`,
      );
    }
    const limit = request.maxTokens ?? maxModelLen - request.promptTokens;
    if (request.minTokens > limit) {
      throw new BadRequest(`min_tokens (${request.minTokens}) must be less than or equal to max_tokens (${limit})`);
    }
    if (request.ignoreEos) return { outputTokens: limit, finishReason: 'length' };
    const eos = Math.max(request.minTokens, uniformInt(this.#eosRandom, eosMinTokens, eosMaxTokens));
    return eos < limit ? { outputTokens: eos, finishReason: 'stop' } : { outputTokens: limit, finishReason: 'length' };
  }

  submit(generation: Generation): void {
    if (this.#running.size < this.config.maxNumSeqs) {
      this.#start(generation, this.scheduler.now());
      return;
    }
    this.#queue.push(generation);
    this.#waiting += 1;
    if (this.#waiting > this.#maxWaiting) this.#maxWaiting = this.#waiting;
  }

  /** The client went away (socket closed) before the response ended. */
  clientClosed(generation: Generation): void {
    if (generation.state === 'done') return;
    const now = this.scheduler.now();
    if (generation.state === 'waiting') this.#waiting -= 1;
    generation.state = 'done';
    this.#aborted += 1;
    this.metrics.requestSuccess.inc(1, 'abort');
    this.#release(generation, now);
  }

  countFault(kind: FaultKind): void {
    this.faultCounts[kind] = (this.faultCounts[kind] ?? 0) + 1;
    this.metrics.faults.inc(1, kind);
  }

  finished(generation: Generation, now: number, reason: FinishedReason): void {
    this.#completed += 1;
    const m = this.metrics;
    const firstToken = generation.firstTokenAt;
    m.requestSuccess.inc(1, reason);
    m.e2eLatency.observe((now - generation.arrivalMs) / 1000);
    m.queueTime.observe((generation.startMs - generation.arrivalMs) / 1000);
    m.inferenceTime.observe((now - generation.startMs) / 1000);
    m.prefillTime.observe((firstToken - generation.startMs) / 1000);
    m.decodeTime.observe((now - firstToken) / 1000);
    m.requestPromptTokens.observe(generation.request.promptTokens);
    m.requestGenerationTokens.observe(generation.sent);
    this.#release(generation, now);
  }

  /** The generation stopped using its sequence slot (halted by a fault). */
  halted(generation: Generation, now: number): void {
    this.#release(generation, now);
  }

  #start(generation: Generation, now: number): void {
    this.#running.add(generation);
    this.metrics.promptTokens.inc(generation.request.promptTokens);
    generation.start(now);
  }

  #release(generation: Generation, now: number): void {
    if (!this.#running.delete(generation)) return;
    while (this.#running.size < this.config.maxNumSeqs && this.#queueHead < this.#queue.length) {
      const next = this.#queue[this.#queueHead] as Generation;
      this.#queueHead += 1;
      if (next.state !== 'waiting') continue; // aborted while waiting
      this.#waiting -= 1;
      this.#start(next, now);
    }
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }
}

export interface GenerationInit {
  request: InferenceRequest;
  plan: OutputPlan;
  sink: ResponseSink;
  /** Streaming only. */
  renderer: StreamRenderer | undefined;
  /** Non-streaming only. */
  body: NonStreamingBody | undefined;
  /** A fault that acts during generation (reset, stall, malformed-*). */
  fault: Fault | undefined;
  arrivalMs: number;
}

/**
 * One request in the engine. Deadlines are absolute: token 0 is due at start + prefill, token i at
 * token i-1 + one decode step. A tick that comes late sends every chunk already due in one write.
 */
export class Generation implements Timed {
  readonly engine: Engine;
  readonly request: InferenceRequest;
  readonly outputTokens: number;
  readonly finishReason: FinishReason;
  readonly arrivalMs: number;
  state: State = 'waiting';
  startMs = 0;
  /** When the first token went out (streaming) or was due (non-streaming). */
  firstTokenAt = 0;
  /** Content tokens sent so far. */
  sent = 0;
  readonly #sink: ResponseSink;
  readonly #renderer: StreamRenderer | undefined;
  readonly #body: NonStreamingBody | undefined;
  readonly #fault: Fault | undefined;
  /** Halting faults (reset, stall) act once this many tokens were sent. */
  readonly #haltAfter: number;
  /** Malformed faults insert their event once this many tokens were sent. */
  #malformedAfter: number;
  /** Due time of token #dueIndex. */
  #tokenDue = 0;
  #dueIndex = 0;
  /** Decode steps (ms) of the tokens in the planned chunk, observed when it is sent. */
  #steps: number[] = [];
  /** End (exclusive) of the planned chunk, or -1 when the next event is the halting fault. */
  #nextEnd = 0;
  #nextDue = 0;

  constructor(engine: Engine, init: GenerationInit) {
    this.engine = engine;
    this.request = init.request;
    this.outputTokens = init.plan.outputTokens;
    this.finishReason = init.plan.finishReason;
    this.arrivalMs = init.arrivalMs;
    this.#sink = init.sink;
    this.#renderer = init.renderer;
    this.#body = init.body;
    this.#fault = init.fault;
    const fault = init.fault;
    this.#haltAfter = fault !== undefined && HALTS.has(fault.kind) && 'afterTokens' in fault ? fault.afterTokens : -1;
    this.#malformedAfter =
      fault !== undefined && !HALTS.has(fault.kind) && 'afterTokens' in fault
        ? Math.min(fault.afterTokens, this.outputTokens)
        : -1;
  }

  start(now: number): void {
    this.state = 'running';
    this.startMs = now;
    this.#tokenDue = now + this.engine.timing.prefillMs(this.request.promptTokens);
    this.#dueIndex = 0;
    this.firstTokenAt = this.#tokenDue;
    if (this.request.stream) {
      this.#planNextChunk();
    } else {
      this.#advanceTo(this.outputTokens - 1);
      this.#nextDue = this.#tokenDue;
    }
    this.engine.scheduler.schedule(this, this.#nextDue);
  }

  onDue(now: number): void {
    if (this.state !== 'running') return;
    this.engine.lateness.record(now - this.#nextDue);
    if (this.request.stream) this.#stream(now);
    else this.#complete(now);
  }

  #stream(now: number): void {
    const renderer = this.#renderer as StreamRenderer;
    const engine = this.engine;
    let out = '';
    for (;;) {
      if (this.#nextEnd === -1) {
        if (out !== '') this.#sink.write(out);
        this.#halt(now);
        return;
      }
      const end = this.#nextEnd;
      out += this.#takeMalformed(renderer);
      const final = end === this.outputTokens;
      out += renderer.contentEvent(this.sent, end, final ? this.finishReason : null);
      if (this.sent === 0) {
        this.firstTokenAt = now;
        engine.metrics.ttft.observe((now - this.arrivalMs) / 1000);
      }
      this.#observeSteps();
      engine.metrics.generationTokens.inc(end - this.sent);
      this.sent = end;
      if (final) {
        out += this.#takeMalformed(renderer);
        if (this.#haltAfter >= this.outputTokens) {
          this.#sink.write(out);
          this.#halt(now);
          return;
        }
        if (this.request.includeUsage) out += renderer.usageEvent(this.request.promptTokens, this.sent);
        this.state = 'done';
        this.#sink.end(out + DONE_EVENT);
        engine.finished(this, now, this.finishReason);
        return;
      }
      this.#planNextChunk();
      if (this.#nextDue > now) {
        this.#sink.write(out);
        engine.scheduler.schedule(this, this.#nextDue);
        return;
      }
    }
  }

  #complete(now: number): void {
    const engine = this.engine;
    const body = this.#body as NonStreamingBody;
    engine.metrics.ttft.observe((this.firstTokenAt - this.arrivalMs) / 1000);
    this.#observeSteps();
    engine.metrics.generationTokens.inc(this.outputTokens);
    this.sent = this.outputTokens;
    if (this.#haltAfter >= 0) {
      this.#halt(now);
      return;
    }
    this.state = 'done';
    if (this.#malformedAfter >= 0) {
      engine.countFault((this.#fault as Fault).kind);
      this.#sink.respond(200, body.malformed());
    } else {
      this.#sink.respond(200, body.complete());
    }
    engine.finished(this, now, this.finishReason);
  }

  /** Reset or stall: the generation leaves the engine; a stalled connection stays open, silent. */
  #halt(now: number): void {
    const kind = (this.#fault as Fault).kind;
    this.state = 'done';
    this.engine.countFault(kind);
    if (kind === 'reset') this.#sink.reset();
    this.engine.halted(this, now);
  }

  #takeMalformed(renderer: StreamRenderer): string {
    if (this.#malformedAfter !== this.sent) return '';
    this.#malformedAfter = -1;
    const kind = (this.#fault as Fault).kind;
    this.engine.countFault(kind);
    return kind === 'malformed-json' ? renderer.malformedJsonEvent() : renderer.malformedSseEvent();
  }

  /** Plans the next streamed chunk (or the halting fault) and its deadline. */
  #planNextChunk(): void {
    if (this.sent === this.#haltAfter && this.#haltAfter < this.outputTokens) {
      this.#advanceTo(this.sent);
      this.#steps.length = 0; // that token is never sent
      this.#nextEnd = -1;
      this.#nextDue = this.#tokenDue;
      return;
    }
    let end = chunkEnd(this.sent, this.outputTokens, this.engine.config.tokensPerChunk);
    if (this.sent < this.#haltAfter && end > this.#haltAfter) end = this.#haltAfter;
    if (this.sent < this.#malformedAfter && end > this.#malformedAfter) end = this.#malformedAfter;
    this.#advanceTo(end - 1);
    this.#nextEnd = end;
    this.#nextDue = this.#tokenDue;
  }

  #advanceTo(index: number): void {
    while (this.#dueIndex < index) {
      const step = this.engine.timing.decodeStepMs();
      this.#tokenDue += step;
      this.#dueIndex += 1;
      this.#steps.push(step);
    }
  }

  #observeSteps(): void {
    const metrics = this.engine.metrics;
    for (const step of this.#steps) {
      metrics.interTokenLatency.observe(step / 1000);
      metrics.timePerOutputToken.observe(step / 1000);
    }
    this.#steps.length = 0;
  }
}
