/**
 * LoadTest (loadlm.dev/v1alpha1): one load-test run against one or more OpenAI-compatible targets.
 * The spec is immutable; a re-run is a new object (use `metadata.generateName`).
 */
import { z } from 'zod';
import {
  type Condition,
  ConfigMapKeySelector,
  conditionList,
  Dns1123Label,
  EnvironmentLabels,
  EnvVar,
  int,
  intOrString,
  LocalObjectReference,
  labelMap,
  listMap,
  ObjectMeta,
  ObjectName,
  percent,
  portNamePattern,
  positiveDecimal,
  ResourceRequirements,
  SecretKeySelector,
  seconds,
  Timestamp,
  Toleration,
} from './common.ts';
import { group, loadTestNames, version } from './crd-meta.ts';
import { type CrdValidationRule, k8s, type ValidationRule, withRules } from './rules.ts';

const oneWeek = 7 * 24 * 3600;
const thirtyDays = 30 * 24 * 3600;
const oneHourMs = 3_600_000;

// ----------------------------------------------------------------------------------------------- target

export const ApiKind = z
  .enum(['chat', 'completions'])
  .describe(
    'Which OpenAI-compatible endpoint to call: `chat` (/v1/chat/completions) or `completions` (/v1/completions).',
  );
export type ApiKind = z.infer<typeof ApiKind>;

export const ServiceReference = z
  .strictObject({
    name: Dns1123Label.describe('Name of the Service in front of the inference server.'),
    namespace: Dns1123Label.optional().describe("Namespace of the Service. Default: the LoadTest's namespace."),
    port: intOrString(
      int(1, 65535),
      z.string().min(1).max(15).regex(portNamePattern),
      'expected a port number (1-65535) or a port name',
    ).describe('Service port, by number (`8012`) or by name (`http`).'),
    path: z
      .string()
      .max(256)
      .regex(/^\/[^\s]*$/, { error: 'expected a path starting with "/"' })
      .optional()
      .describe(
        'Base path of the API on that port (the runner appends `/chat/completions` or `/completions`). Default `/v1`.',
      ),
    scheme: z.enum(['http', 'https']).default('http').describe('`http` or `https`.'),
  })
  .describe(
    'An in-cluster Service that serves the OpenAI-compatible API. Resolved to `<scheme>://<name>.<namespace>.svc:<port><path>`.',
  );
export type ServiceReference = z.infer<typeof ServiceReference>;

export const TargetTimeouts = z
  .strictObject({
    connectSeconds: seconds(1, 600).optional().describe('TCP/TLS connect timeout. Default: the runner default.'),
    headersSeconds: seconds(1, 3600)
      .optional()
      .describe(
        'From sending a request to its response headers; must cover server queueing and prefill. Default: the runner default.',
      ),
    idleSeconds: seconds(1, 3600)
      .optional()
      .describe(
        'Longest allowed gap between two streamed chunks; a stalled stream fails as `timeout`. Default: the runner default.',
      ),
    requestSeconds: seconds(1, 86400)
      .optional()
      .describe('Cap on a whole request, headers to last byte. Default: none.'),
  })
  .describe('Per-request timeouts, in whole seconds.');
export type TargetTimeouts = z.infer<typeof TargetTimeouts>;

export const TargetObject = z
  .strictObject({
    name: Dns1123Label.describe(
      'Short name of the target; becomes the `target` metric label. Unique within the LoadTest.',
    ),
    url: z
      .string()
      .min(1)
      .max(2048)
      .regex(/^https?:\/\/[^\s/?#@]+([/?#][^\s]*)?$/, {
        error: 'expected an http:// or https:// URL without user:password@ (put credentials in apiKeySecretRef)',
      })
      .optional()
      .describe(
        'Base URL of the API (`http://host:8000` or `http://host:8000/v1`) or a full endpoint URL ending in ' +
          '`/chat/completions` or `/completions`. Exactly one of url and serviceRef is set.',
      ),
    serviceRef: ServiceReference.optional().describe(
      'In-cluster Service serving the API, instead of `url`. Exactly one of url and serviceRef is set.',
    ),
    model: z
      .string()
      .min(1)
      .max(256)
      .describe(
        'Model name sent in each request (e.g. `mistralai/Mistral-7B-Instruct-v0.3`); becomes the `model` label.',
      ),
    api: ApiKind.default('chat'),
    stream: z
      .boolean()
      .default(true)
      .describe(
        'Stream responses (SSE). Without streaming only end-to-end latency can be measured (no TTFT, ITL or TPOT).',
      ),
    apiKeySecretRef: SecretKeySelector.optional().describe(
      'Secret key holding the API key, sent as `Authorization: Bearer <key>`. The key reaches the runner only through ' +
        'a secretKeyRef and never appears in status, events, logs or reports.',
    ),
    maxConnections: int(1, 100_000)
      .optional()
      .describe(
        'Connection pool size per runner: a hard cap on requests in flight to this target. Default: sized to the load.',
      ),
    timeouts: TargetTimeouts.optional(),
  })
  .describe('An OpenAI-compatible inference endpoint to load-test.');
export const targetRules: ValidationRule<z.output<typeof TargetObject>>[] = [
  {
    rule: 'has(self.url) != has(self.serviceRef)',
    message: 'exactly one of url or serviceRef must be set',
    check: (self) => (self.url !== undefined) !== (self.serviceRef !== undefined),
  },
];
export const Target = withRules(TargetObject, targetRules);
export type Target = z.infer<typeof Target>;

// ------------------------------------------------------------------------------------------------- load

export const loadProfiles = ['synchronous', 'concurrent', 'constant', 'poisson', 'throughput', 'sweep'] as const;
export const LoadProfile = z
  .enum(loadProfiles)
  .describe(
    'How requests are issued. `synchronous`: one at a time. `concurrent`: `concurrency` closed-loop streams. ' +
      '`constant`: `rate` requests/s on a fixed schedule. `poisson`: `rate` requests/s with seeded exponential gaps. ' +
      '`throughput`: as fast as possible, up to `concurrency` in flight. `sweep`: synchronous, then throughput, then ' +
      '`sweep.rates` rates evenly in between.',
  );
export type LoadProfile = z.infer<typeof LoadProfile>;

const openLoop: readonly LoadProfile[] = ['constant', 'poisson'];
const takesConcurrency: readonly LoadProfile[] = ['concurrent', 'throughput', 'sweep'];
const takesStages: readonly LoadProfile[] = ['constant', 'poisson', 'concurrent', 'throughput'];

/** Request rate in requests per second (a Decimal: `10`, `"2.5"`). */
export const RequestRate = positiveDecimal(1_000_000);
const rateDescription =
  'Requests per second for all runners together: an integer (`10`) or a decimal string with up to 3 ' +
  'fractional digits (`"2.5"`, `"0.25"`). Unquoted fractions are rejected: the API has no floats.';

export const LoadStageObject = z
  .strictObject({
    durationSeconds: seconds(1, oneWeek).describe('Length of the stage.'),
    rate: RequestRate.optional().describe(
      `Target rate of the stage (profiles constant and poisson). ${rateDescription}`,
    ),
    concurrency: int(1, 100_000)
      .optional()
      .describe('Target concurrency of the stage (profiles concurrent and throughput), for all runners together.'),
    ramp: z
      .boolean()
      .default(false)
      .describe(
        "Move linearly from the previous stage's value (0 for the first stage) to this one over the stage, instead of holding it.",
      ),
  })
  .describe('One stage of a staged run.');
export const loadStageRules: ValidationRule<z.output<typeof LoadStageObject>>[] = [
  {
    rule: 'has(self.rate) != has(self.concurrency)',
    message: 'exactly one of rate or concurrency must be set',
    check: (self) => (self.rate !== undefined) !== (self.concurrency !== undefined),
  },
];
export const LoadStage = withRules(LoadStageObject, loadStageRules);
export type LoadStage = z.infer<typeof LoadStage>;

export const SweepSettings = z
  .strictObject({
    rates: int(1, 50).describe(
      'Number of rates, evenly spaced strictly between the synchronous and the throughput rate.',
    ),
    stepSeconds: seconds(10, 86400).describe(
      'Length of each step (synchronous, throughput and each rate); warmup and cooldown are taken from every step.',
    ),
    profile: z
      .enum(['constant', 'poisson'])
      .default('constant')
      .describe('Open-loop profile of the rate steps: `constant` or `poisson`.'),
  })
  .describe('Sweep settings (profile sweep). The sweep stops early once the server is saturated.');
export type SweepSettings = z.infer<typeof SweepSettings>;

export const LoadSettingsObject = z
  .strictObject({
    profile: LoadProfile,
    rate: RequestRate.optional().describe(
      `${rateDescription} Required for profiles constant and poisson (unless stages are given); not allowed otherwise.`,
    ),
    concurrency: int(1, 100_000)
      .optional()
      .describe(
        'Concurrent streams for all runners together. Required for profile concurrent (unless stages are given); an ' +
          'in-flight cap for throughput and sweep; not allowed otherwise.',
      ),
    stages: z
      .array(LoadStage)
      .min(1)
      .max(32)
      .optional()
      .describe(
        'A staged run (profiles constant, poisson, concurrent, throughput): replaces rate, concurrency and durationSeconds. ' +
          'Each stage sets rate (open-loop profiles) or concurrency (closed-loop profiles).',
      ),
    durationSeconds: seconds(1, oneWeek)
      .optional()
      .describe('Length of the run, warmup and cooldown included. Not allowed with stages or profile sweep.'),
    warmupSeconds: seconds(0, oneWeek)
      .default(0)
      .describe('Initial seconds whose requests are sent but excluded from the statistics.'),
    cooldownSeconds: seconds(0, oneWeek)
      .default(0)
      .describe('Final seconds whose requests are sent but excluded from the statistics.'),
    maxRequests: int(1, 1_000_000_000).optional().describe('Stop after this many requests (all runners together).'),
    maxErrors: int(1, 1_000_000_000).optional().describe('Stop once a runner has seen this many failed requests.'),
    sweep: SweepSettings.optional(),
    seed: int(0, 4_294_967_295)
      .optional()
      .describe(
        'Seed for synthetic prompts, lengths and poisson arrivals: the same seed sends the same requests. When unset the ' +
          'operator picks one and records it in status.seed.',
      ),
  })
  .describe(
    'The load profile and when the run stops. The run ends at durationSeconds (or the end of the stages or sweep), at ' +
      'maxRequests, or at maxErrors, whichever comes first.',
  );
export const loadSettingsRules: ValidationRule<z.output<typeof LoadSettingsObject>>[] = [
  {
    rule: "!has(self.rate) || self.profile in ['constant', 'poisson']",
    message: 'rate is only allowed when profile is constant or poisson',
    messageExpression:
      "'rate is not allowed when profile is ' + self.profile + ' (only constant and poisson take a rate)'",
    messageFor: (self) => `rate is not allowed when profile is ${self.profile} (only constant and poisson take a rate)`,
    fieldPath: '.rate',
    reason: 'FieldValueForbidden',
    check: (self) => self.rate === undefined || openLoop.includes(self.profile),
  },
  {
    rule: "!(self.profile in ['constant', 'poisson']) || has(self.rate) || has(self.stages)",
    message: 'rate is required when profile is constant or poisson (or give stages)',
    fieldPath: '.rate',
    reason: 'FieldValueRequired',
    check: (self) => !openLoop.includes(self.profile) || self.rate !== undefined || self.stages !== undefined,
  },
  {
    rule: "!has(self.concurrency) || self.profile in ['concurrent', 'throughput', 'sweep']",
    message: 'concurrency is only allowed when profile is concurrent, throughput or sweep',
    messageExpression:
      "'concurrency is not allowed when profile is ' + self.profile + ' (only concurrent, throughput and sweep take a concurrency)'",
    messageFor: (self) =>
      `concurrency is not allowed when profile is ${self.profile} (only concurrent, throughput and sweep take a concurrency)`,
    fieldPath: '.concurrency',
    reason: 'FieldValueForbidden',
    check: (self) => self.concurrency === undefined || takesConcurrency.includes(self.profile),
  },
  {
    rule: "self.profile != 'concurrent' || has(self.concurrency) || has(self.stages)",
    message: 'concurrency is required when profile is concurrent (or give stages)',
    fieldPath: '.concurrency',
    reason: 'FieldValueRequired',
    check: (self) => self.profile !== 'concurrent' || self.concurrency !== undefined || self.stages !== undefined,
  },
  {
    rule: "!has(self.stages) || self.profile in ['constant', 'poisson', 'concurrent', 'throughput']",
    message: 'stages are only allowed when profile is constant, poisson, concurrent or throughput',
    messageExpression:
      "'stages are not allowed when profile is ' + self.profile + ' (only constant, poisson, concurrent and throughput take stages)'",
    messageFor: (self) =>
      `stages are not allowed when profile is ${self.profile} (only constant, poisson, concurrent and throughput take stages)`,
    fieldPath: '.stages',
    reason: 'FieldValueForbidden',
    check: (self) => self.stages === undefined || takesStages.includes(self.profile),
  },
  {
    rule: '!has(self.stages) || !(has(self.rate) || has(self.concurrency) || has(self.durationSeconds))',
    message: 'stages replace rate, concurrency and durationSeconds: remove those when stages are set',
    fieldPath: '.stages',
    reason: 'FieldValueForbidden',
    check: (self) =>
      self.stages === undefined ||
      (self.rate === undefined && self.concurrency === undefined && self.durationSeconds === undefined),
  },
  {
    rule: "!has(self.stages) || self.stages.all(s, self.profile in ['constant', 'poisson'] ? has(s.rate) : has(s.concurrency))",
    message:
      'every stage must set rate when profile is constant or poisson, and concurrency when profile is concurrent or throughput',
    fieldPath: '.stages',
    check: (self) =>
      self.stages === undefined ||
      self.stages.every((stage) =>
        openLoop.includes(self.profile) ? stage.rate !== undefined : stage.concurrency !== undefined,
      ),
  },
  {
    rule: "self.profile != 'sweep' || has(self.sweep)",
    message: 'sweep is required when profile is sweep',
    fieldPath: '.sweep',
    reason: 'FieldValueRequired',
    check: (self) => self.profile !== 'sweep' || self.sweep !== undefined,
  },
  {
    rule: "self.profile == 'sweep' || !has(self.sweep)",
    message: 'sweep is only allowed when profile is sweep',
    fieldPath: '.sweep',
    reason: 'FieldValueForbidden',
    check: (self) => self.profile === 'sweep' || self.sweep === undefined,
  },
  {
    rule: "self.profile != 'sweep' || !has(self.durationSeconds)",
    message:
      'durationSeconds is not allowed when profile is sweep: a sweep lasts (sweep.rates + 2) × sweep.stepSeconds',
    fieldPath: '.durationSeconds',
    reason: 'FieldValueForbidden',
    check: (self) => self.profile !== 'sweep' || self.durationSeconds === undefined,
  },
  {
    rule: 'has(self.durationSeconds) || has(self.maxRequests) || has(self.stages) || has(self.sweep)',
    message: 'one of durationSeconds, maxRequests, stages or sweep must be set so that the run ends',
    fieldPath: '.durationSeconds',
    reason: 'FieldValueRequired',
    check: (self) =>
      self.durationSeconds !== undefined ||
      self.maxRequests !== undefined ||
      self.stages !== undefined ||
      self.sweep !== undefined,
  },
  {
    rule: '!has(self.durationSeconds) || self.warmupSeconds + self.cooldownSeconds < self.durationSeconds',
    message: 'warmupSeconds + cooldownSeconds must be less than durationSeconds, or nothing is measured',
    fieldPath: '.warmupSeconds',
    check: (self) =>
      self.durationSeconds === undefined || self.warmupSeconds + self.cooldownSeconds < self.durationSeconds,
  },
  {
    rule: '!has(self.sweep) || self.warmupSeconds + self.cooldownSeconds < self.sweep.stepSeconds',
    message: 'warmupSeconds + cooldownSeconds must be less than sweep.stepSeconds, or no step is measured',
    fieldPath: '.warmupSeconds',
    check: (self) => self.sweep === undefined || self.warmupSeconds + self.cooldownSeconds < self.sweep.stepSeconds,
  },
  {
    rule: '!has(self.stages) || self.warmupSeconds + self.cooldownSeconds < self.stages.map(s, s.durationSeconds).sum()',
    message: 'warmupSeconds + cooldownSeconds must be less than the total length of the stages, or nothing is measured',
    fieldPath: '.warmupSeconds',
    check: (self) =>
      self.stages === undefined ||
      self.warmupSeconds + self.cooldownSeconds < self.stages.reduce((sum, stage) => sum + stage.durationSeconds, 0),
  },
];
export const LoadSettings = withRules(LoadSettingsObject, loadSettingsRules);
export type LoadSettings = z.infer<typeof LoadSettings>;

// ------------------------------------------------------------------------------------------------- data

const tokens = (min: number) => int(min, 1_000_000);

export const LengthDistributionObject = z
  .strictObject({
    type: z
      .enum(['fixed', 'uniform', 'normal'])
      .describe('`fixed` (value), `uniform` (min..max) or `normal` (mean, stddev, clamped to min..max).'),
    value: tokens(1).optional().describe('The length, for type fixed.'),
    min: tokens(1).optional().describe('Smallest length: required for uniform; for normal a clamp that defaults to 1.'),
    max: tokens(1)
      .optional()
      .describe('Largest length: required for uniform; for normal a clamp that defaults to mean + 3 × stddev.'),
    mean: tokens(1).optional().describe('Mean length, for type normal.'),
    stddev: tokens(0).optional().describe('Standard deviation, for type normal.'),
  })
  .describe('A token-length distribution. Sampled lengths are whole tokens within [min, max].');
export const lengthDistributionRules: ValidationRule<z.output<typeof LengthDistributionObject>>[] = [
  {
    rule: "self.type != 'fixed' || has(self.value)",
    message: 'value is required when type is fixed',
    fieldPath: '.value',
    reason: 'FieldValueRequired',
    check: (self) => self.type !== 'fixed' || self.value !== undefined,
  },
  {
    rule: "self.type == 'fixed' || !has(self.value)",
    message: 'value is only allowed when type is fixed',
    fieldPath: '.value',
    reason: 'FieldValueForbidden',
    check: (self) => self.type === 'fixed' || self.value === undefined,
  },
  {
    rule: "self.type != 'fixed' || !(has(self.min) || has(self.max))",
    message: 'min and max are not allowed when type is fixed',
    fieldPath: '.min',
    reason: 'FieldValueForbidden',
    check: (self) => self.type !== 'fixed' || (self.min === undefined && self.max === undefined),
  },
  {
    rule: "self.type != 'uniform' || (has(self.min) && has(self.max))",
    message: 'min and max are required when type is uniform',
    fieldPath: '.min',
    reason: 'FieldValueRequired',
    check: (self) => self.type !== 'uniform' || (self.min !== undefined && self.max !== undefined),
  },
  {
    rule: "self.type != 'normal' || (has(self.mean) && has(self.stddev))",
    message: 'mean and stddev are required when type is normal',
    fieldPath: '.mean',
    reason: 'FieldValueRequired',
    check: (self) => self.type !== 'normal' || (self.mean !== undefined && self.stddev !== undefined),
  },
  {
    rule: "self.type == 'normal' || !(has(self.mean) || has(self.stddev))",
    message: 'mean and stddev are only allowed when type is normal',
    fieldPath: '.mean',
    reason: 'FieldValueForbidden',
    check: (self) => self.type === 'normal' || (self.mean === undefined && self.stddev === undefined),
  },
  {
    rule: '!has(self.min) || !has(self.max) || self.min <= self.max',
    message: 'max must be greater than or equal to min',
    fieldPath: '.max',
    check: (self) => self.min === undefined || self.max === undefined || self.min <= self.max,
  },
];
export const LengthDistribution = withRules(LengthDistributionObject, lengthDistributionRules);
export type LengthDistribution = z.infer<typeof LengthDistribution>;

/** The [min, max] a distribution's samples are clamped to, with the documented defaults for normal. */
export function lengthBounds(distribution: LengthDistribution): { min: number; max: number } {
  switch (distribution.type) {
    case 'fixed':
      return { min: distribution.value ?? 1, max: distribution.value ?? 1 };
    case 'uniform':
      return { min: distribution.min ?? 1, max: distribution.max ?? 1 };
    case 'normal': {
      const mean = distribution.mean ?? 1;
      const stddev = distribution.stddev ?? 0;
      return { min: distribution.min ?? 1, max: distribution.max ?? Math.max(mean + 3 * stddev, 1) };
    }
  }
}

export const Dataset = z
  .strictObject({
    configMapRef: ConfigMapKeySelector.describe(
      'ConfigMap key holding JSONL, one request per line: `{"prompt": "..."}` or `{"messages": [{"role": "user", ' +
        '"content": "..."}]}`, each optionally with `"output_tokens": <n>`. Rows are used in order, cycling.',
    ),
  })
  .describe('Requests read from a dataset instead of synthetic prompts.');
export type Dataset = z.infer<typeof Dataset>;

export const DataSettingsObject = z
  .strictObject({
    promptTokens: LengthDistribution.optional().describe(
      'Prompt length in tokens, shared prefix included. Required unless dataset is set; not allowed with dataset.',
    ),
    outputTokens: LengthDistribution.optional().describe(
      'Output length in tokens, forced with `max_tokens` (and `ignore_eos`). Required unless dataset is set; with a ' +
        'dataset it applies to rows without `output_tokens`.',
    ),
    sharedPrefixTokens: tokens(0)
      .default(0)
      .describe('Leading tokens identical in every synthetic prompt, for prefix-cache tests. 0 = none.'),
    dataset: Dataset.optional(),
    calibration: z
      .enum(['probe', 'off'])
      .default('probe')
      .describe(
        'How synthetic prompts are sized without a tokenizer: `probe` fits words-to-tokens from the ' +
          "server's `usage.prompt_tokens` with two short requests before the run; `off` assumes one token per word.",
      ),
  })
  .describe('What each request asks for: synthetic prompts of given token lengths, or a dataset.');
export const dataSettingsRules: ValidationRule<z.output<typeof DataSettingsObject>>[] = [
  {
    rule: 'has(self.dataset) || has(self.promptTokens)',
    message: 'promptTokens is required unless dataset is set',
    fieldPath: '.promptTokens',
    reason: 'FieldValueRequired',
    check: (self) => self.dataset !== undefined || self.promptTokens !== undefined,
  },
  {
    rule: '!has(self.dataset) || !has(self.promptTokens)',
    message: 'promptTokens is not allowed with dataset: prompts come from the dataset',
    fieldPath: '.promptTokens',
    reason: 'FieldValueForbidden',
    check: (self) => self.dataset === undefined || self.promptTokens === undefined,
  },
  {
    rule: 'has(self.dataset) || has(self.outputTokens)',
    message: 'outputTokens is required unless dataset is set',
    fieldPath: '.outputTokens',
    reason: 'FieldValueRequired',
    check: (self) => self.dataset !== undefined || self.outputTokens !== undefined,
  },
  {
    rule: '!has(self.dataset) || self.sharedPrefixTokens == 0',
    message: 'sharedPrefixTokens is not allowed with dataset',
    fieldPath: '.sharedPrefixTokens',
    reason: 'FieldValueForbidden',
    check: (self) => self.dataset === undefined || self.sharedPrefixTokens === 0,
  },
];
export const DataSettings = withRules(DataSettingsObject, dataSettingsRules);
export type DataSettings = z.infer<typeof DataSettings>;

// -------------------------------------------------------------------------------------------------- slo

const milliseconds = (what: string) => int(1, oneHourMs).optional().describe(`${what}, in milliseconds.`);

export const GoodputLimitsObject = z
  .strictObject({
    ttftMilliseconds: milliseconds('Largest time to first token of a good request'),
    tpotMilliseconds: milliseconds('Largest time per output token of a good request'),
    e2eMilliseconds: milliseconds('Largest end-to-end latency of a good request'),
  })
  .describe("Per-request limits: a request is good when it succeeded and met every limit given (DistServe's goodput).");
export const goodputLimitsRules: ValidationRule<z.output<typeof GoodputLimitsObject>>[] = [
  {
    rule: 'has(self.ttftMilliseconds) || has(self.tpotMilliseconds) || has(self.e2eMilliseconds)',
    message: 'at least one of ttftMilliseconds, tpotMilliseconds or e2eMilliseconds must be set',
    check: (self) =>
      self.ttftMilliseconds !== undefined || self.tpotMilliseconds !== undefined || self.e2eMilliseconds !== undefined,
  },
];
export const GoodputLimits = withRules(GoodputLimitsObject, goodputLimitsRules);
export type GoodputLimits = z.infer<typeof GoodputLimits>;

export const SloThresholdsObject = z
  .strictObject({
    ttftP95Milliseconds: milliseconds('Largest allowed 95th percentile time to first token'),
    ttftP99Milliseconds: milliseconds('Largest allowed 99th percentile time to first token'),
    tpotP95Milliseconds: milliseconds('Largest allowed 95th percentile time per output token'),
    tpotP99Milliseconds: milliseconds('Largest allowed 99th percentile time per output token'),
    itlP95Milliseconds: milliseconds('Largest allowed 95th percentile inter-token latency'),
    e2eP95Milliseconds: milliseconds('Largest allowed 95th percentile end-to-end latency'),
    e2eP99Milliseconds: milliseconds('Largest allowed 99th percentile end-to-end latency'),
    maxErrorRatePercent: percent()
      .optional()
      .describe('Largest allowed share of failed requests, in percent: an integer or a decimal string (`"0.5"`).'),
    minRequestsPerSecond: positiveDecimal()
      .optional()
      .describe('Smallest acceptable completed requests per second: an integer or a decimal string (`"2.5"`).'),
    minOutputTokensPerSecond: positiveDecimal()
      .optional()
      .describe('Smallest acceptable output tokens per second: an integer or a decimal string.'),
    goodput: GoodputLimits.optional(),
    minGoodputPercent: percent()
      .optional()
      .describe('Smallest acceptable share of good requests (see goodput), in percent. Requires goodput.'),
  })
  .describe(
    'Service-level thresholds, checked on the measured window (warmup and cooldown excluded). When any is breached ' +
      'the LoadTest ends with Succeeded=False, reason ThresholdsBreached.',
  );
export const sloThresholdsRules: ValidationRule<z.output<typeof SloThresholdsObject>>[] = [
  {
    rule: '!has(self.minGoodputPercent) || has(self.goodput)',
    message: 'minGoodputPercent requires goodput (the per-request limits that define a good request)',
    fieldPath: '.goodput',
    reason: 'FieldValueRequired',
    check: (self) => self.minGoodputPercent === undefined || self.goodput !== undefined,
  },
];
export const SloThresholds = withRules(SloThresholdsObject, sloThresholdsRules);
export type SloThresholds = z.infer<typeof SloThresholds>;

// ----------------------------------------------------------------------------------------------- runner

export const RunnerOverrides = z
  .strictObject({
    image: z
      .string()
      .min(1)
      .max(512)
      .optional()
      .describe("Runner container image. Default: the operator's runner image."),
    imagePullPolicy: z
      .enum(['Always', 'IfNotPresent', 'Never'])
      .optional()
      .describe('Image pull policy of the runner.'),
    imagePullSecrets: z.array(LocalObjectReference).max(8).optional().describe('Secrets for pulling the runner image.'),
    resources: ResourceRequirements.optional(),
    nodeSelector: labelMap().optional().describe('Node labels runner pods must be scheduled on.'),
    tolerations: z.array(Toleration).max(32).optional().describe('Tolerations of runner pods.'),
    serviceAccountName: ObjectName.optional().describe(
      'ServiceAccount of runner pods. Default: a minimal one created by the operator.',
    ),
    priorityClassName: ObjectName.optional().describe('PriorityClass of runner pods.'),
    podLabels: labelMap().optional().describe('Extra labels on runner pods.'),
    podAnnotations: k8s(z.record(z.string().max(316), z.string().max(4096)), { maxProperties: 32 })
      .optional()
      .describe('Extra annotations on runner pods.'),
    env: listMap(z.array(EnvVar).max(32), 'name')
      .optional()
      .describe('Extra environment variables of the runner container (literal values only: never put API keys here).'),
  })
  .describe('Overrides for the runner pods.');
export type RunnerOverrides = z.infer<typeof RunnerOverrides>;

// ------------------------------------------------------------------------------------------------- spec

export const cleanupPolicies = ['Never', 'OnSuccess', 'Always'] as const;

export const LoadTestSpec = withRules(
  z
    .strictObject({
      targets: listMap(z.array(Target).min(1).max(8), 'name').describe(
        'Endpoints to load-test. Every target receives the full load with its own runners, all at the same time; use ' +
          'one LoadTest per target to measure them in isolation.',
      ),
      environment: EnvironmentLabels.optional(),
      load: LoadSettings,
      data: DataSettings,
      parallelism: int(1, 100)
        .default(1)
        .describe('Number of runner pods per target. The load is split between them; results are merged exactly.'),
      slo: SloThresholds.optional(),
      runner: RunnerOverrides.optional(),
      cleanupPolicy: z
        .enum(cleanupPolicies)
        .default('OnSuccess')
        .describe(
          'Which finished runs get their runner objects (Jobs, pods, runner config) deleted: `Never`, `OnSuccess` ' +
            '(failed runs are kept for debugging) or `Always`. The LoadTest and its report are always kept.',
        ),
      ttlSecondsAfterFinished: seconds(0, thirtyDays)
        .optional()
        .describe('Delay between the end of the run and the cleanup chosen by cleanupPolicy. Default 0.'),
      startupDeadlineSeconds: seconds(10, 86400)
        .default(300)
        .describe(
          'How long all runners may take to become ready (image pull, scheduling, start barrier) before the LoadTest ' +
            'fails with reason StartupDeadlineExceeded.',
        ),
      activeDeadlineSeconds: seconds(1, thirtyDays)
        .optional()
        .describe(
          "Hard limit on the runner Job's run time (Job activeDeadlineSeconds). Default: derived from the load.",
        ),
    })
    .describe('Desired load test. Immutable once created: to run again, create a new LoadTest.'),
  [
    {
      rule: 'self == oldSelf',
      message: 'spec is immutable: create a new LoadTest to run again (metadata.generateName helps)',
    },
    {
      rule: "self.parallelism == 1 || !(self.load.profile in ['synchronous', 'sweep'])",
      message: 'parallelism must be 1 when load.profile is synchronous or sweep',
      messageExpression: "'parallelism must be 1 when load.profile is ' + self.load.profile",
      messageFor: (self) => `parallelism must be 1 when load.profile is ${self.load.profile}`,
      fieldPath: '.parallelism',
      check: (self) => self.parallelism === 1 || !['synchronous', 'sweep'].includes(self.load.profile),
    },
    {
      rule: '!has(self.load.concurrency) || self.load.concurrency >= self.parallelism',
      message: 'parallelism must not exceed load.concurrency: every runner needs at least one stream',
      fieldPath: '.parallelism',
      check: (self) => self.load.concurrency === undefined || self.load.concurrency >= self.parallelism,
    },
    {
      rule: "!has(self.ttlSecondsAfterFinished) || self.cleanupPolicy != 'Never'",
      message: 'ttlSecondsAfterFinished is not allowed when cleanupPolicy is Never',
      fieldPath: '.ttlSecondsAfterFinished',
      reason: 'FieldValueForbidden',
      check: (self) => self.ttlSecondsAfterFinished === undefined || self.cleanupPolicy !== 'Never',
    },
    {
      rule:
        '!has(self.activeDeadlineSeconds) || !has(self.load.durationSeconds) || ' +
        'self.activeDeadlineSeconds > self.load.durationSeconds',
      message: 'activeDeadlineSeconds must be greater than load.durationSeconds, or every run is cut short',
      fieldPath: '.activeDeadlineSeconds',
      check: (self) =>
        self.activeDeadlineSeconds === undefined ||
        self.load.durationSeconds === undefined ||
        self.activeDeadlineSeconds > self.load.durationSeconds,
    },
  ],
);
export type LoadTestSpec = z.infer<typeof LoadTestSpec>;
/** The spec as written in a manifest (defaults not yet applied). */
export type LoadTestSpecInput = z.input<typeof LoadTestSpec>;

// ----------------------------------------------------------------------------------------------- status

/** Condition types of a LoadTest. */
export const LoadTestConditionType = {
  /** The spec's references resolved and the runner objects were created. False: e.g. reason SecretNotFound. */
  Accepted: 'Accepted',
  /** All runners are ready and the common start time is set; load is being sent. */
  RunnersReady: 'RunnersReady',
  /** True: the run completed and every SLO held. False: it completed but thresholds were breached, or it failed. */
  Succeeded: 'Succeeded',
  /** True: the run could not complete (OOMKilled, ImagePullBackOff, deadline exceeded, unreachable endpoint, ...). */
  Failed: 'Failed',
} as const;
export type LoadTestConditionType = (typeof LoadTestConditionType)[keyof typeof LoadTestConditionType];

export const loadTestPhases = ['Pending', 'Starting', 'Running', 'Succeeded', 'ThresholdsBreached', 'Failed'] as const;
export const LoadTestPhase = z
  .enum(loadTestPhases)
  .describe(
    'Summary of the conditions, for display: Pending, Starting (accepted, runners not all ready), Running, Succeeded, ' +
      'ThresholdsBreached (completed, SLOs not met) or Failed. Derived from conditions, never the other way round.',
  );
export type LoadTestPhase = z.infer<typeof LoadTestPhase>;

/**
 * The phase shown by `kubectl get`, derived from conditions only:
 * Failed=True → Failed; Succeeded=True → Succeeded; Succeeded=False → ThresholdsBreached (a run that could not
 * complete also sets Failed=True, which wins); RunnersReady=True → Running; Accepted=True → Starting; else Pending.
 */
export function phaseFromConditions(
  conditions: readonly Pick<Condition, 'type' | 'status'>[] | undefined,
): LoadTestPhase {
  const status = (type: LoadTestConditionType) => conditions?.find((condition) => condition.type === type)?.status;
  if (status('Failed') === 'True') return 'Failed';
  if (status('Succeeded') === 'True') return 'Succeeded';
  if (status('Succeeded') === 'False') return 'ThresholdsBreached';
  if (status('RunnersReady') === 'True') return 'Running';
  if (status('Accepted') === 'True') return 'Starting';
  return 'Pending';
}

export function isFinishedPhase(phase: LoadTestPhase): boolean {
  return phase === 'Succeeded' || phase === 'ThresholdsBreached' || phase === 'Failed';
}

const count = (what: string) => int(0, Number.MAX_SAFE_INTEGER).describe(what);
const displayString = (what: string) => z.string().max(64).describe(what);

const latencyKeys = ['mean', 'min', 'max', 'p50', 'p90', 'p95', 'p99', 'p999'] as const;
export type LatencyStatKey = (typeof latencyKeys)[number];
const latencyKeyLabel: Record<LatencyStatKey, string> = {
  mean: 'Mean',
  min: 'Smallest value',
  max: 'Largest value',
  p50: '50th percentile',
  p90: '90th percentile',
  p95: '95th percentile',
  p99: '99th percentile',
  p999: '99.9th percentile',
};

/**
 * Statistics of one latency metric. Each statistic appears twice: as a display string with unit for
 * `kubectl get` (`"123.4ms"`, `"1.52s"`, see formatMicroseconds) and as an exact integer in microseconds.
 */
export const LatencyStats = z
  .object({
    samples: count('Number of samples.'),
    ...Object.fromEntries(
      latencyKeys.map((key) => [
        key,
        displayString(`${latencyKeyLabel[key]}, for display (e.g. "123.4ms").`).optional(),
      ]),
    ),
    microseconds: z
      .object(
        Object.fromEntries(
          latencyKeys.map((key) => [key, count(`${latencyKeyLabel[key]} in microseconds.`).optional()]),
        ),
      )
      .optional()
      .describe('The same statistics as integers in microseconds, for machines.'),
  })
  .describe('Latency statistics from merged histograms (never averaged percentiles).');
export type LatencyStats = {
  samples: number;
  microseconds?: Partial<Record<LatencyStatKey, number>>;
} & Partial<Record<LatencyStatKey, string>>;

export const ResultSummary = z
  .object({
    measuredSeconds: count('Length of the measured window (warmup and cooldown excluded), in seconds.').optional(),
    requests: z
      .object({
        total: count('Requests completed in the measured window.'),
        succeeded: count('Requests that succeeded.'),
        failed: count('Requests that failed.'),
        late: count('Requests the runners could not send on schedule (dispatch lag over the threshold).').optional(),
      })
      .optional()
      .describe('Request counts.'),
    ttft: LatencyStats.optional().describe(
      'Time to first token: from the scheduled send time to the first content chunk.',
    ),
    itl: LatencyStats.optional().describe('Inter-token latency: every gap between consecutive content chunks.'),
    tpot: LatencyStats.optional().describe('Time per output token: (e2e − ttft) / (output tokens − 1).'),
    e2e: LatencyStats.optional().describe(
      'End-to-end latency: from the scheduled send time to the last content chunk.',
    ),
    throughput: z
      .object({
        requestsPerSecond: displayString('Completed requests per second, as a decimal string.').optional(),
        outputTokensPerSecond: displayString('Output tokens per second, as a decimal string.').optional(),
        totalTokensPerSecond: displayString('Prompt plus output tokens per second, as a decimal string.').optional(),
      })
      .optional()
      .describe('Throughput over the measured window, as decimal strings (e.g. "12.35") since status has no floats.'),
    tokens: z
      .object({
        prompt: count('Prompt tokens (from usage).'),
        output: count('Output tokens (from usage).'),
      })
      .optional()
      .describe('Token totals in the measured window.'),
    errors: z
      .object({
        total: count('Failed requests.'),
        ratePercent: displayString('Failed requests as a percentage of all, e.g. "0.5%".').optional(),
        byClass: k8s(z.record(z.string().max(64), count('Count.')), { maxProperties: 32 })
          .optional()
          .describe('Failed requests by class: connect, timeout, http, broken_stream, bad_payload, cancelled.'),
        byStatus: k8s(z.record(z.string().max(8), count('Count.')), { maxProperties: 64 })
          .optional()
          .describe('Completed requests by HTTP status code.'),
      })
      .optional()
      .describe('Errors.'),
    goodput: z
      .object({
        requests: count('Good requests: succeeded and within every goodput limit.'),
        requestsPerSecond: displayString('Good requests per second, as a decimal string.').optional(),
        percent: displayString('Good requests as a percentage of all, e.g. "97.5%".').optional(),
      })
      .optional()
      .describe('Goodput against spec.slo.goodput (only when goodput limits are set).'),
  })
  .describe('Results over the measured window, merged across runners.');
export type ResultSummary = z.infer<typeof ResultSummary>;

export const ThresholdResult = z
  .object({
    name: z.string().max(64).describe('The spec.slo field, e.g. `ttftP95Milliseconds`.'),
    limit: displayString('The threshold, for display (e.g. "500ms").'),
    observed: displayString('The measured value, for display (e.g. "612.3ms").'),
    met: z.boolean().describe('Whether the threshold held.'),
  })
  .describe('The outcome of one SLO threshold.');
export type ThresholdResult = z.infer<typeof ThresholdResult>;

export const LoadTestStatus = z
  .object({
    observedGeneration: int(0, Number.MAX_SAFE_INTEGER)
      .optional()
      .describe('The metadata.generation this status was computed for.'),
    phase: LoadTestPhase.optional(),
    conditions: conditionList('Conditions: Accepted, RunnersReady, Succeeded and Failed.').optional(),
    seed: int(0, 4_294_967_295)
      .optional()
      .describe('The seed in use (spec.load.seed, or the one the operator picked).'),
    startTime: Timestamp.optional().describe('When the runners started sending load (the common start time).'),
    completionTime: Timestamp.optional().describe('When the run finished.'),
    runners: z
      .object({
        desired: count('Runner pods wanted (targets × parallelism).'),
        ready: count('Runner pods ready to start.').optional(),
        active: count('Runner pods running.').optional(),
        succeeded: count('Runner pods that finished successfully.').optional(),
        failed: count('Runner pods that failed.').optional(),
      })
      .optional()
      .describe('Runner pod counts.'),
    progress: z
      .object({
        requestsCompleted: count('Requests completed so far, all runners together.'),
        requestsFailed: count('Requests failed so far.').optional(),
        elapsedSeconds: count('Seconds since the start time.').optional(),
        expectedSeconds: count('Planned length of the run, when known.').optional(),
        percent: displayString('Progress for display, e.g. "42%".').optional(),
        updateTime: Timestamp.optional().describe(
          'When progress was last updated (about every 10 seconds while running).',
        ),
      })
      .optional()
      .describe('Live progress while the test runs.'),
    summary: ResultSummary.optional(),
    targets: listMap(
      z
        .array(
          z
            .object({
              name: z.string().max(63).describe('The target name.'),
              summary: ResultSummary.optional(),
            })
            .describe('Results of one target.'),
        )
        .max(8),
      'name',
    )
      .optional()
      .describe('Results per target, when there is more than one (summary then merges all targets).'),
    thresholds: z.array(ThresholdResult).max(32).optional().describe('The outcome of every SLO threshold in spec.slo.'),
    reportRef: z
      .object({
        name: z.string().max(253).describe('Name of the ConfigMap holding the report.'),
        key: z.string().max(253).describe('Key of the report (JSON) within the ConfigMap.'),
      })
      .optional()
      .describe('Where the full merged report (JSON, with histograms and per-step results) is stored.'),
  })
  .describe('Observed state of the load test, written by the operator.');
export type LoadTestStatus = z.infer<typeof LoadTestStatus>;

// ------------------------------------------------------------------------------------------------ kind

/** Runner Jobs, Services and pods are named after the LoadTest; this keeps their names within 63 characters. */
export const maxLoadTestNameLength = 52;
const nameTooLong = `metadata.name must be at most ${maxLoadTestNameLength} characters (runner Jobs and Services are named after it)`;

/** The CEL form, on the whole object (a rule's fieldPath cannot point into metadata). */
export const loadTestNameRule: CrdValidationRule = {
  rule: `self.metadata.name.size() <= ${maxLoadTestNameLength}`,
  message: nameTooLong,
};

export const LoadTest = z
  .object({
    apiVersion: z.literal(`${group}/${version}`),
    kind: z.literal(loadTestNames.kind),
    metadata: ObjectMeta.extend({
      name: z.string().max(maxLoadTestNameLength, { error: nameTooLong }).optional(),
    }),
    spec: LoadTestSpec,
    status: LoadTestStatus.optional(),
  })
  .describe('A LoadTest resource.');
export type LoadTest = z.infer<typeof LoadTest>;
