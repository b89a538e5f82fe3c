/**
 * The runner's YAML config: the design documents' shape (environments → targets with name, url, model,
 * `api_key: ${API_KEY}`) plus `load`, `data` and `slo` sections whose fields are the LoadTest CRD's
 * (`spec.load`, `spec.data`, `spec.slo`), validated by the same shared schemas from `api/`.
 *
 * ```yaml
 * loadtest: nightly-mistral          # optional: the `loadtest` metric label
 * environments:
 *   development:
 *     provider: akamai-lke           # optional environment labels
 *     cluster: rag-ray-dev
 *     region: us-ord
 *     targets:
 *       - name: mistral-7b
 *         url: http://mistral-7b-predictor.development.svc.cluster.local:8012/v1/chat/completions
 *         model: mistralai/Mistral-7B-Instruct-v0.3
 *         api_key: ${API_KEY}
 * load: { profile: constant, rate: 5, durationSeconds: 300, warmupSeconds: 30 }
 * data: { promptTokens: 512, outputTokens: "uniform:64-256", seed: 42 }
 * slo: { ttftP95Milliseconds: 500, goodput: { ttftMilliseconds: 1000 }, minGoodputPercent: 95 }
 * ```
 *
 * Runner-only conveniences, none of which changes a field name: token lengths may be written in the compact
 * flag syntax (`128`, `"uniform:64-256"`, `"normal:128,32,16-512"`); fractional rates and percentages may be
 * plain YAML numbers (`rate: 2.5`; the CRD needs `"2.5"`); `data.dataset` is a JSONL file path instead of a
 * ConfigMap reference; `data.seed` is accepted as an alias of `load.seed`.
 */
import { z } from 'zod';
import { Dns1123Label, LabelValue } from '../../api/common.ts';
import { ApiKind, LengthDistribution, LoadSettings, SloThresholds, TargetTimeouts } from '../../api/loadtest.ts';
import { withRules } from '../../api/rules.ts';
import { parseDistribution } from './distribution.ts';

/** Token lengths: the CRD object form, or the compact string/number form. */
export const RunnerLengthDistribution = z.preprocess((value, ctx) => {
  if (typeof value === 'number' && Number.isInteger(value)) return { type: 'fixed', value };
  if (typeof value === 'number') {
    ctx.addIssue({ code: 'custom', message: `expected a whole number of tokens, got ${value}`, input: value });
    return z.NEVER;
  }
  if (typeof value !== 'string') return value;
  try {
    const d = parseDistribution(value);
    if (d.kind === 'fixed') return { type: 'fixed', value: d.value };
    if (d.kind === 'uniform') return { type: 'uniform', min: d.min, max: d.max };
    return { type: 'normal', mean: d.mean, stddev: d.stddev, min: d.min, max: d.max };
  } catch (err) {
    ctx.addIssue({
      code: 'custom',
      message: `${(err as Error).message}, or an object {type: fixed|uniform|normal, ...}`,
      input: value,
    });
    return z.NEVER;
  }
}, LengthDistribution);

export const RunnerTarget = withRules(
  z
    .strictObject({
      name: Dns1123Label.describe('Short name; the `target` metric label.'),
      url: z
        .string()
        .min(1)
        .max(2048)
        .refine(isHttpUrl, {
          error: 'expected an http(s) URL such as http://host:8000/v1 or http://host:8000/v1/chat/completions',
        })
        .describe('Base URL (`http://host:8000`, `.../v1`) or full endpoint (`.../v1/chat/completions`).'),
      model: z.string().min(1).max(256).describe('Model name sent in requests; the `model` metric label.'),
      api: ApiKind.optional().describe('chat or completions; default inferred from the URL path, else chat.'),
      stream: z.boolean().default(true).describe('Stream responses (SSE). Default true.'),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: documents the config's ${VAR} syntax
      api_key: z.string().min(1).optional().describe('API key (use `${API_KEY}`; never written in plain text).'),
      apiKeyFile: z.string().min(1).optional().describe('File holding the API key (e.g. a mounted Secret).'),
      headers: z
        .record(
          z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: 'expected an HTTP header name' }),
          z.string(),
        )
        .optional()
        .describe('Extra request headers.'),
      maxConnections: z.int().min(1).max(100_000).optional().describe('Connection pool size (in-flight cap).'),
      timeouts: TargetTimeouts.optional(),
    })
    .describe("A target in the design documents' shape."),
  [
    {
      rule: '!(has(self.api_key) && has(self.apiKeyFile))',
      message: 'give api_key or apiKeyFile, not both',
      fieldPath: '.apiKeyFile',
      check: (self) => self.api_key === undefined || self.apiKeyFile === undefined,
    },
  ],
);
export type RunnerTarget = z.infer<typeof RunnerTarget>;

export const RunnerEnvironment = z
  .strictObject({
    provider: LabelValue.optional().describe('`provider` label.'),
    cluster: LabelValue.optional().describe('`cluster` label.'),
    region: LabelValue.optional().describe('`region` label.'),
    targets: z
      .array(RunnerTarget)
      .min(1, { error: 'expected at least one target' })
      .max(8)
      .superRefine((targets, ctx) => {
        const seen = new Set<string>();
        targets.forEach((t, i) => {
          if (seen.has(t.name)) {
            ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate target name "${t.name}"` });
          }
          seen.add(t.name);
        });
      }),
  })
  .describe('One environment (development, staging, ...): its targets and labels.');
export type RunnerEnvironment = z.infer<typeof RunnerEnvironment>;

export const RunnerData = withRules(
  z
    .strictObject({
      promptTokens: RunnerLengthDistribution.optional(),
      outputTokens: RunnerLengthDistribution.optional(),
      sharedPrefixTokens: z.int().min(0).max(1_000_000).default(0),
      dataset: z.string().min(1).optional().describe('JSONL file: {"prompt"|"messages", "output_tokens"?} per line.'),
      calibration: z.enum(['probe', 'off']).default('probe'),
      seed: z.int().min(0).max(4_294_967_295).optional().describe('Alias of load.seed.'),
    })
    .describe("What each request asks for (the CRD's spec.data, with a file dataset)."),
  [
    {
      rule: 'has(self.dataset) || has(self.promptTokens)',
      message: 'promptTokens is required unless dataset is set',
      fieldPath: '.promptTokens',
      check: (self) => self.dataset !== undefined || self.promptTokens !== undefined,
    },
    {
      rule: 'has(self.dataset) || has(self.outputTokens)',
      message: 'outputTokens is required unless dataset is set',
      fieldPath: '.outputTokens',
      check: (self) => self.dataset !== undefined || self.outputTokens !== undefined,
    },
    {
      rule: '!has(self.dataset) || self.sharedPrefixTokens == 0',
      message: 'sharedPrefixTokens is not allowed with dataset',
      fieldPath: '.sharedPrefixTokens',
      check: (self) => self.dataset === undefined || self.sharedPrefixTokens === 0,
    },
  ],
);
export type RunnerData = z.infer<typeof RunnerData>;

/** The whole config file (after `${VAR}` expansion and with flag overrides merged in). */
export const RunnerConfig = z
  .strictObject({
    loadtest: LabelValue.optional().describe('LoadTest name; the `loadtest` metric label.'),
    environments: z
      .record(LabelValue.min(1), RunnerEnvironment)
      .refine((m) => Object.keys(m).length > 0, { error: 'expected at least one environment' }),
    load: LoadSettings,
    data: RunnerData,
    slo: SloThresholds.optional(),
  })
  .describe('loadlm runner configuration.');
export type RunnerConfig = z.infer<typeof RunnerConfig>;

/** Fields where the CRD wants a Decimal (int or decimal string); YAML numbers are converted first. */
const decimalPaths: readonly (readonly string[])[] = [
  ['load', 'rate'],
  ['slo', 'maxErrorRatePercent'],
  ['slo', 'minRequestsPerSecond'],
  ['slo', 'minOutputTokensPerSecond'],
  ['slo', 'minGoodputPercent'],
];

/** Turns fractional YAML numbers into the decimal strings the shared schemas accept (`2.5` → `"2.5"`). */
export function normaliseDecimals(raw: unknown): unknown {
  if (!isRecord(raw)) return raw;
  const out = structuredClone(raw);
  const fix = (holder: Record<string, unknown>, key: string) => {
    const v = holder[key];
    if (typeof v === 'number' && Number.isFinite(v) && !Number.isInteger(v)) holder[key] = String(v);
  };
  for (const [section, key] of decimalPaths) {
    const holder = out[section as string];
    if (isRecord(holder)) fix(holder, key as string);
  }
  const stages = isRecord(out.load) ? out.load.stages : undefined;
  if (Array.isArray(stages)) for (const s of stages) if (isRecord(s)) fix(s, 'rate');
  return out;
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
