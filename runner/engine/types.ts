/**
 * The load-generation engine's contract. Plain typed options (not the CRD types): the config layer maps
 * the LoadTest spec / YAML config onto these.
 *
 * Time conventions: every `...At` field is epoch milliseconds (fractional) read from a monotonic clock that
 * was anchored to the wall clock once at engine start (`performance.timeOrigin + performance.now()`), so
 * differences between them are monotonic and exact. Every `...Seconds` field is a duration in seconds.
 */

/** Which OpenAI-compatible endpoint to call. */
export type ApiKind = 'chat' | 'completions';

export interface TimeoutSpec {
  /** TCP (and TLS) connect timeout. */
  connectMs: number;
  /** From sending the request to receiving the response headers; must cover server queueing + prefill. */
  headersMs: number;
  /** Longest allowed gap between two body chunks (a stalled stream fails with `timeout`). */
  bodyIdleMs: number;
  /** Optional cap on the whole request, headers to last byte. */
  requestMs?: number;
}

export interface TargetSpec {
  /**
   * Base URL (`http://host:8000` or `http://host:8000/v1`) or a full endpoint URL ending in
   * `/chat/completions` or `/completions` (then used as is).
   */
  url: string;
  model: string;
  api: ApiKind;
  stream: boolean;
  /** Sent as `Authorization: Bearer ...`. Kept in memory only; never logged or put into results/errors. */
  apiKey?: string;
  /** Extra request headers (e.g. routing headers). */
  headers?: Record<string, string>;
  timeouts: TimeoutSpec;
  /**
   * Connection pool size = hard cap on requests in flight to this target (HTTP/1.1, pipelining 1).
   * Requests beyond it wait in the engine's own queue, so their wait shows up as dispatch lag.
   */
  maxConnections: number;
}

/** A token-length distribution. Sampled values are rounded to integers and clamped to [min, max] (min ≥ 1). */
export type LengthDistribution =
  | { kind: 'fixed'; value: number }
  | { kind: 'uniform'; min: number; max: number }
  | { kind: 'normal'; mean: number; stddev: number; min: number; max: number };

export interface DataSpec {
  /** Prompt length in tokens (including the shared prefix). Ignored for dataset rows that carry a prompt. */
  promptTokens: LengthDistribution;
  /** Output length, forced with `max_tokens` + `ignore_eos: true`. */
  outputTokens: LengthDistribution;
  /** Leading tokens identical in every synthetic prompt (prefix-cache tests). 0 = none. */
  sharedPrefixTokens: number;
  /**
   * Path to a JSONL file; one object per line: `{"prompt": string, "output_tokens"?: number}` or
   * `{"messages": [{role, content}], "output_tokens"?: number}`. Rows are used in order, cycling.
   */
  dataset?: string;
  /** Same seed → same sequence of requests (prompt text and lengths per request index). */
  seed: number;
  /**
   * How synthetic prompts are sized: `probe` (default) sends two short calibration requests before the run
   * and fits `usage.prompt_tokens = overhead + tokensPerWord × words`; `off` assumes 1 token per word.
   */
  calibration?: 'probe' | 'off';
}

export type LoadProfile = 'synchronous' | 'concurrent' | 'constant' | 'poisson' | 'throughput' | 'sweep';

/**
 * One stage of a staged run. Open-loop profiles (constant, poisson) read `rate`; closed-loop ones
 * (concurrent, throughput) read `concurrency`. With `ramp: true` the value moves linearly from the previous
 * stage's value (0 for the first stage) to this one over the stage; otherwise it is held.
 */
export interface LoadStage {
  durationSeconds: number;
  rate?: number;
  concurrency?: number;
  ramp?: boolean;
}

export interface SweepSpec {
  /** K: number of rates evenly spaced strictly between the synchronous and the throughput rate. */
  rates: number;
  /** Length of each step (synchronous, throughput and each rate), warmup/cooldown carved out of each. */
  stepSeconds: number;
  /** Open-loop profile used for the K rate steps. Default `constant`. */
  profile?: 'constant' | 'poisson';
}

export interface LoadSpec {
  profile: LoadProfile;
  /** Requests/s for constant and poisson (the whole, before `share` splitting). */
  rate?: number;
  /** Closed-loop streams for concurrent; in-flight cap for throughput (default: target.maxConnections). */
  concurrency?: number;
  /** Replaces `rate`/`concurrency` + `durationSeconds` with a sequence of stages. */
  stages?: LoadStage[];
  /**
   * The run's timeline is [0, T) with T = durationSeconds or the sum of stage durations; warmup is the first
   * `warmupSeconds` and cooldown the last `cooldownSeconds` of it (by scheduled send time). Results carry
   * their phase; the stats layer excludes warmup and cooldown.
   */
  warmupSeconds: number;
  cooldownSeconds: number;
  durationSeconds?: number;
  /** Stop after this many requests (the global count; with `share` this runner sends its slots of it). */
  maxRequests?: number;
  /** Stop once this runner has seen this many failed requests. */
  maxErrors?: number;
  sweep?: SweepSpec;
  /** Agreed common start time (epoch ms) for N runners; the engine waits until then. */
  startAt?: number;
  /**
   * This runner's share when N runners split the load. Runner `index` of `count` takes global schedule slots
   * i with i % count === index (open loop), so the union of all runners is exactly the full schedule, and
   * gets concurrency ⌊c/N⌋ (+1 if index < c mod N) for closed loop. Request data is derived from the global
   * slot index, so the union also sends the same prompts as one runner would.
   */
  share?: { index: number; count: number };
  /** A request whose dispatch lag exceeds this is counted as `late`. Default 10 ms. */
  lateThresholdMs?: number;
}

export type Phase = 'warmup' | 'measure' | 'cooldown';

export type ErrorClass = 'connect' | 'timeout' | 'http' | 'broken_stream' | 'bad_payload' | 'cancelled';

export interface RequestResult {
  /** Global request index (slot in the global schedule; equals the local count for a single runner). */
  index: number;
  /** Stage index (0 when there are no stages) and sweep step index (0 when not sweeping). */
  stage: number;
  step: number;
  phase: Phase;
  /** When the request should have been sent (open loop: the schedule; closed loop: when its slot freed). */
  scheduledAt: number;
  /** When it was actually handed to the HTTP client. */
  sentAt: number;
  /** sentAt − scheduledAt, in seconds (≥ 0). */
  dispatchLagSeconds: number;
  /** dispatchLag > lateThresholdMs: the runner could not keep the schedule for this request. */
  late: boolean;
  ok: boolean;
  errorClass?: ErrorClass;
  /** HTTP status when one was received (always set for `http` errors). */
  httpStatus?: number;
  /** Human-readable cause, including the server's error message for HTTP errors. Never contains the API key. */
  errorMessage?: string;
  /** All latencies count from `scheduledAt` (coordinated-omission safe). First chunk with non-empty content. */
  ttftSeconds?: number;
  /** Every gap between consecutive content chunks. */
  itlSeconds: number[];
  /** (e2e − ttft) / (outputTokens − 1); undefined when outputTokens < 2. */
  tpotSeconds?: number;
  /** Scheduled send → last content chunk (streaming) or full body (non-streaming). */
  e2eSeconds?: number;
  /** From `usage.prompt_tokens`. */
  promptTokens?: number;
  /** From `usage.completion_tokens`; when usage is missing, the number of content chunks (see flag). */
  outputTokens?: number;
  /** True when outputTokens was counted from chunks because the server sent no usage. */
  outputTokensEstimated?: boolean;
  /** What was asked for: prompt tokens aimed at and `max_tokens` sent. */
  requestedPromptTokens?: number;
  requestedOutputTokens: number;
}

export interface RunProgress {
  /** Seconds since the run's t0 (negative while waiting for `startAt`). */
  elapsedSeconds: number;
  phase: Phase;
  stage: number;
  step: number;
  sent: number;
  completed: number;
  ok: number;
  failed: number;
  inFlight: number;
  late: number;
}

export type PhaseEvent =
  | { kind: 'calibrated'; calibration: Calibration }
  | { kind: 'start'; at: number }
  | { kind: 'phase'; phase: Phase; at: number; step: number }
  | { kind: 'stage'; stage: number; at: number }
  | { kind: 'step-start'; step: number; label: string; profile: LoadProfile; rate?: number; at: number }
  | { kind: 'step-end'; step: number; at: number; outcome: StepOutcome }
  | { kind: 'stopping'; reason: StopReason; at: number };

export interface RunHooks {
  /** Called once per finished request (ok or failed), in completion order. Must be cheap and not throw. */
  onResult?(result: RequestResult): void;
  /** Called every `progressIntervalMs`. */
  onProgress?(progress: RunProgress): void;
  onPhase?(event: PhaseEvent): void;
}

export type StopReason = 'duration' | 'maxRequests' | 'maxErrors' | 'signal' | 'saturated';

export interface RequestCounts {
  sent: number;
  completed: number;
  ok: number;
  failed: number;
  late: number;
  errors: Record<ErrorClass, number>;
  /** Completed requests per HTTP status (errors with a status and 200s). */
  byStatus: Record<string, number>;
}

export interface StepOutcome {
  step: number;
  /** e.g. `synchronous`, `throughput`, `constant@12.5`. */
  label: string;
  profile: LoadProfile;
  /** Target rate of an open-loop step (this runner's share). */
  targetRate?: number;
  /**
   * Measure-phase send rate: 1 / least-squares slope of actual send time over send ordinal (equals
   * (n − 1)/(last − first) for a perfect schedule, robust to a single late send at either end).
   */
  achievedRate?: number;
  /** Requests completed OK during the measure window / the window's length: the server's throughput. */
  completedRate?: number;
  counts: RequestCounts;
  /** The step's t0 and the moment its last request finished. */
  startedAt: number;
  endedAt: number;
  /**
   * The measure window: [t0 + warmup, t0 + length − cooldown], cut short when the step stopped early
   * (maxRequests without a duration: up to the last OK completion). Undefined when it is empty.
   */
  measureWindow?: { startAt: number; endAt: number };
  /** Sweep only: this step was judged saturated (see sweep.ts for the definition). */
  saturated?: boolean;
  saturationReason?: string;
}

export interface Calibration {
  /** `probe`: fitted from two probe requests; `off`: 1 token per word assumed (asked for, or probing failed). */
  method: 'probe' | 'off';
  /** Fitted usage.prompt_tokens = overheadTokens + tokensPerWord × words. */
  tokensPerWord: number;
  overheadTokens: number;
  /** Why probing failed, when it did (the run goes on with the 1-token-per-word assumption). */
  error?: string;
}

export interface RunOutcome {
  stopReason: StopReason;
  /** When runLoad was called (before calibration and any wait for startAt), and when it finished. */
  startedAt: number;
  endedAt: number;
  steps: StepOutcome[];
  counts: RequestCounts;
  calibration?: Calibration;
  /**
   * Accuracy of synthetic prompt sizing over the run: mean |usage.prompt_tokens − requested| and the same
   * relative to requested. Undefined when no response carried usage.
   */
  promptTokenError?: { meanAbsTokens: number; meanRelative: number; samples: number };
}

export interface RunOptions {
  /** Abort = stop sending, let in-flight requests finish within `gracePeriodMs`, then cancel them. */
  signal?: AbortSignal;
  /** Default 30 000. */
  gracePeriodMs?: number;
  /** Default 1 000. */
  progressIntervalMs?: number;
  /**
   * Advanced: how long before each due time the dispatcher polls instead of sleeping (ms). Default 1;
   * 0 saves CPU at the cost of up to ~1–2 ms more dispatch lag (see timer.ts).
   */
  spinMs?: number;
}

export type RunLoad = (
  target: TargetSpec,
  load: LoadSpec,
  data: DataSpec,
  hooks: RunHooks,
  options?: RunOptions,
) => Promise<RunOutcome>;
