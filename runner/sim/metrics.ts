import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * vLLM's Prometheus metrics (names, `model_name` and `engine` labels, bucket boundaries as in vLLM's
 * v1 PrometheusStatLogger), plus the older names the design documents' PromQL uses.
 *
 * Per-token metrics are updated hundreds of thousands of times a second, and prom-client's own
 * Histogram hashes the label set on every observe. These small metric classes keep plain arrays and
 * only build prom-client's metric objects when scraped; the prom-client Registry still formats the
 * text and AggregatorRegistry still merges them across cluster workers.
 */

type Labels = Record<string, string>;
type Aggregator = 'sum' | 'average' | 'max';

interface MetricValue {
  value: number;
  labels: Labels;
  metricName?: string;
}

interface MetricObject {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: MetricValue[];
  aggregator: Aggregator;
}

interface ScrapedMetric {
  readonly name: string;
  get(): MetricObject;
}

export const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0,
  640.0, 2560.0,
];
export const TOKEN_LATENCY_BUCKETS = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
];
export const REQUEST_LATENCY_BUCKETS = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0,
  7680.0,
];

/** vLLM's build_1_2_5_buckets: 1, 2, 5, 10, 20, 50, ... up to max. */
export function oneTwoFiveBuckets(max: number): number[] {
  const buckets: number[] = [];
  for (let scale = 1; ; scale *= 10) {
    for (const mantissa of [1, 2, 5]) {
      if (mantissa * scale > max) return buckets;
      buckets.push(mantissa * scale);
    }
  }
}

export class FastHistogram implements ScrapedMetric {
  readonly name: string;
  readonly #help: string;
  readonly #bounds: readonly number[];
  readonly #labels: Labels;
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(name: string, help: string, bounds: readonly number[], labels: Labels) {
    this.name = name;
    this.#help = help;
    this.#bounds = bounds;
    this.#labels = labels;
    this.#counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    this.#sum += value;
    this.#count += 1;
    const bounds = this.#bounds;
    // Latencies sit in the first buckets, so a linear scan beats a binary search here.
    for (let i = 0; i < bounds.length; i++) {
      if (value <= (bounds[i] as number)) {
        this.#counts[i] = (this.#counts[i] as number) + 1;
        return;
      }
    }
  }

  get count(): number {
    return this.#count;
  }

  get sum(): number {
    return this.#sum;
  }

  get(): MetricObject {
    const values: MetricValue[] = [];
    const bucketName = `${this.name}_bucket`;
    let cumulative = 0;
    for (let i = 0; i < this.#bounds.length; i++) {
      cumulative += this.#counts[i] as number;
      values.push({
        value: cumulative,
        labels: { ...this.#labels, le: String(this.#bounds[i]) },
        metricName: bucketName,
      });
    }
    values.push({ value: this.#count, labels: { ...this.#labels, le: '+Inf' }, metricName: bucketName });
    values.push({ value: this.#sum, labels: this.#labels, metricName: `${this.name}_sum` });
    values.push({ value: this.#count, labels: this.#labels, metricName: `${this.name}_count` });
    return { name: this.name, help: this.#help, type: 'histogram', values, aggregator: 'sum' };
  }
}

/** A counter with one label whose values are known up front (e.g. finished_reason). */
export class FastCounter<Key extends string = string> implements ScrapedMetric {
  readonly name: string;
  readonly #help: string;
  readonly #labels: Labels;
  readonly #labelName: string | undefined;
  readonly #values = new Map<string, number>();

  constructor(name: string, help: string, labels: Labels, labelName?: string, labelValues: readonly Key[] = []) {
    this.name = name;
    this.#help = help;
    this.#labels = labels;
    this.#labelName = labelName;
    if (labelName === undefined) this.#values.set('', 0);
    for (const value of labelValues) this.#values.set(value, 0);
  }

  inc(amount = 1, key: Key | '' = ''): void {
    this.#values.set(key, (this.#values.get(key) ?? 0) + amount);
  }

  value(key: Key | '' = ''): number {
    return this.#values.get(key) ?? 0;
  }

  get(): MetricObject {
    const values: MetricValue[] = [];
    for (const [key, value] of this.#values) {
      const labels = this.#labelName === undefined ? this.#labels : { ...this.#labels, [this.#labelName]: key };
      values.push({ value, labels });
    }
    return { name: this.name, help: this.#help, type: 'counter', values, aggregator: 'sum' };
  }
}

export class CallbackGauge implements ScrapedMetric {
  readonly name: string;
  readonly #help: string;
  readonly #labels: Labels;
  readonly #read: () => number;
  readonly #aggregator: Aggregator;

  constructor(name: string, help: string, labels: Labels, read: () => number, aggregator: Aggregator = 'sum') {
    this.name = name;
    this.#help = help;
    this.#labels = labels;
    this.#read = read;
    this.#aggregator = aggregator;
  }

  get(): MetricObject {
    return {
      name: this.name,
      help: this.#help,
      type: 'gauge',
      values: [{ value: this.#read(), labels: this.#labels }],
      aggregator: this.#aggregator,
    };
  }
}

/** Tokens per second over a sliding window of one-second samples, like vLLM's logged averages. */
export class ThroughputWindow {
  readonly #samples: Array<{ at: number; total: number }> = [];
  readonly #windowMs: number;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  sample(at: number, total: number): void {
    this.#samples.push({ at, total });
    while (this.#samples.length > 2 && at - (this.#samples[1] as { at: number }).at >= this.#windowMs) {
      this.#samples.shift();
    }
  }

  perSecond(at: number, total: number): number {
    const oldest = this.#samples[0];
    if (oldest === undefined || at - oldest.at <= 0) return 0;
    return ((total - oldest.total) * 1000) / (at - oldest.at);
  }
}

export type FinishedReason = 'stop' | 'length' | 'abort';

/** What the gauges read from the engine at scrape time. */
export interface EngineGauges {
  running(): number;
  waiting(): number;
  /** Tokens held by running sequences (prompt + generated so far). */
  kvTokens(): number;
}

export interface SimMetricsConfig {
  model: string;
  maxModelLen: number;
  kvCacheTokens: number;
  /** Set false when several simulators share a process (tests): process_* metrics are global. */
  processMetrics: boolean;
}

export class SimMetrics {
  readonly registry = new Registry();
  readonly ttft: FastHistogram;
  readonly interTokenLatency: FastHistogram;
  readonly timePerOutputToken: FastHistogram;
  readonly e2eLatency: FastHistogram;
  readonly queueTime: FastHistogram;
  readonly inferenceTime: FastHistogram;
  readonly prefillTime: FastHistogram;
  readonly decodeTime: FastHistogram;
  readonly requestPromptTokens: FastHistogram;
  readonly requestGenerationTokens: FastHistogram;
  readonly promptTokens: FastCounter;
  readonly generationTokens: FastCounter;
  readonly requestSuccess: FastCounter<FinishedReason>;
  readonly faults: FastCounter;
  readonly #promptWindow = new ThroughputWindow(10_000);
  readonly #generationWindow = new ThroughputWindow(10_000);
  readonly #sampler: NodeJS.Timeout;

  constructor(config: SimMetricsConfig, engine: EngineGauges) {
    const labels = { model_name: config.model, engine: '0' };
    const tokenBuckets = oneTwoFiveBuckets(config.maxModelLen);
    const histogram = (name: string, help: string, bounds: readonly number[]) =>
      new FastHistogram(name, help, bounds, labels);
    this.ttft = histogram(
      'vllm:time_to_first_token_seconds',
      'Histogram of time to first token in seconds.',
      TTFT_BUCKETS,
    );
    this.interTokenLatency = histogram(
      'vllm:inter_token_latency_seconds',
      'Histogram of inter-token latency in seconds.',
      TOKEN_LATENCY_BUCKETS,
    );
    this.timePerOutputToken = histogram(
      'vllm:time_per_output_token_seconds',
      'Histogram of time per output token in seconds (older name of inter_token_latency).',
      TOKEN_LATENCY_BUCKETS,
    );
    this.e2eLatency = histogram(
      'vllm:e2e_request_latency_seconds',
      'Histogram of e2e request latency in seconds.',
      REQUEST_LATENCY_BUCKETS,
    );
    this.queueTime = histogram(
      'vllm:request_queue_time_seconds',
      'Histogram of time spent in WAITING phase for request.',
      REQUEST_LATENCY_BUCKETS,
    );
    this.inferenceTime = histogram(
      'vllm:request_inference_time_seconds',
      'Histogram of time spent in RUNNING phase for request.',
      REQUEST_LATENCY_BUCKETS,
    );
    this.prefillTime = histogram(
      'vllm:request_prefill_time_seconds',
      'Histogram of time spent in PREFILL phase for request.',
      REQUEST_LATENCY_BUCKETS,
    );
    this.decodeTime = histogram(
      'vllm:request_decode_time_seconds',
      'Histogram of time spent in DECODE phase for request.',
      REQUEST_LATENCY_BUCKETS,
    );
    this.requestPromptTokens = histogram(
      'vllm:request_prompt_tokens',
      'Number of prefill tokens processed.',
      tokenBuckets,
    );
    this.requestGenerationTokens = histogram(
      'vllm:request_generation_tokens',
      'Number of generation tokens processed.',
      tokenBuckets,
    );
    this.promptTokens = new FastCounter('vllm:prompt_tokens_total', 'Number of prefill tokens processed.', labels);
    this.generationTokens = new FastCounter(
      'vllm:generation_tokens_total',
      'Number of generation tokens processed.',
      labels,
    );
    this.requestSuccess = new FastCounter<FinishedReason>(
      'vllm:request_success_total',
      'Count of successfully processed requests.',
      labels,
      'finished_reason',
      ['stop', 'length', 'abort'],
    );
    this.faults = new FastCounter('loadlm_sim_faults_total', 'Faults injected by the simulator.', labels, 'fault');

    const kvUsage = () => Math.min(1, engine.kvTokens() / config.kvCacheTokens);
    const now = () => performance.now();
    const gauges = [
      new CallbackGauge(
        'vllm:num_requests_running',
        'Number of requests in model execution batches.',
        labels,
        engine.running,
      ),
      new CallbackGauge(
        'vllm:num_requests_waiting',
        'Number of requests waiting to be processed.',
        labels,
        engine.waiting,
      ),
      new CallbackGauge(
        'vllm:kv_cache_usage_perc',
        'KV-cache usage. 1 means 100 percent usage.',
        labels,
        kvUsage,
        'average',
      ),
      new CallbackGauge(
        'vllm:gpu_cache_usage_perc',
        'GPU KV-cache usage. 1 means 100 percent usage. DEPRECATED: Use vllm:kv_cache_usage_perc instead.',
        labels,
        kvUsage,
        'average',
      ),
      new CallbackGauge(
        'vllm:avg_prompt_throughput_toks_per_s',
        'Average prefill throughput in tokens/s over the last 10 s.',
        labels,
        () => this.#promptWindow.perSecond(now(), this.promptTokens.value()),
      ),
      new CallbackGauge(
        'vllm:avg_generation_throughput_toks_per_s',
        'Average generation throughput in tokens/s over the last 10 s.',
        labels,
        () => this.#generationWindow.perSecond(now(), this.generationTokens.value()),
      ),
    ];
    const all: ScrapedMetric[] = [
      ...gauges,
      this.promptTokens,
      this.generationTokens,
      this.requestSuccess,
      this.ttft,
      this.interTokenLatency,
      this.timePerOutputToken,
      this.e2eLatency,
      this.queueTime,
      this.inferenceTime,
      this.prefillTime,
      this.decodeTime,
      this.requestPromptTokens,
      this.requestGenerationTokens,
      this.faults,
    ];
    // The registry only calls name/get() on these; its Metric type describes prom-client's own classes.
    for (const metric of all)
      this.registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
    if (config.processMetrics) collectDefaultMetrics({ register: this.registry });

    this.#sampleThroughput();
    this.#sampler = setInterval(() => this.#sampleThroughput(), 1000);
    this.#sampler.unref();
  }

  #sampleThroughput(): void {
    const at = performance.now();
    this.#promptWindow.sample(at, this.promptTokens.value());
    this.#generationWindow.sample(at, this.generationTokens.value());
  }

  stop(): void {
    clearInterval(this.#sampler);
  }
}
