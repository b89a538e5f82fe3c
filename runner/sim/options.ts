import { z } from 'zod';
import { type FaultRule, parseFaultRule } from './faults.ts';

const faultSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('status'),
    status: z.number().int().min(400).max(599),
    retryAfterSeconds: z.number().int().min(0).default(1),
  }),
  z.object({ kind: z.literal('reset'), afterTokens: z.number().int().min(0) }),
  z.object({ kind: z.literal('stall'), afterTokens: z.number().int().min(0) }),
  z.object({ kind: z.literal('no-headers') }),
  z.object({ kind: z.literal('malformed-json'), afterTokens: z.number().int().min(0) }),
  z.object({ kind: z.literal('malformed-sse'), afterTokens: z.number().int().min(0) }),
]);

const faultRuleObjectSchema = z
  .object({
    fault: faultSchema,
    every: z.number().int().min(1).optional(),
    probability: z.number().min(0).max(1).optional(),
  })
  .strict()
  .refine((rule) => rule.every === undefined || rule.probability === undefined, {
    message: 'a fault rule takes either every or probability, not both',
  });

const faultRuleTextSchema = z.string().transform((text, ctx): FaultRule => {
  try {
    return parseFaultRule(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

const ms = (defaultValue: number, description: string) => z.number().min(0).default(defaultValue).describe(description);

/**
 * Options of `loadlm sim` / `startSimulator`. Every field has a default; CLI flags are the kebab-case
 * form of the keys (ttftMs -> --ttft-ms). See `describeSimOptions()` for a flag table.
 */
export const simOptionsSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1').describe('Address to listen on (default 127.0.0.1).'),
    port: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(8000)
      .describe("Port to listen on; 0 picks a free port (default 8000, vLLM's)."),
    model: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .default('mistralai/Mistral-7B-Instruct-v0.3')
      .describe(
        'Served model name(s), like vLLM --served-model-name; the first is the metrics model_name label (default mistralai/Mistral-7B-Instruct-v0.3).',
      ),
    apiKey: z
      .string()
      .min(1)
      .optional()
      .describe('When set, /v1/* requires "Authorization: Bearer <key>" (401 otherwise), like vLLM --api-key.'),
    ttftMs: ms(
      50,
      'Base time to first token in ms, counted from when the request starts running (after any queueing) (default 50).',
    ),
    ttftJitterMs: ms(0, 'TTFT is uniform in [ttftMs - jitter, ttftMs + jitter], so its mean stays ttftMs (default 0).'),
    prefillMicrosPerToken: ms(0, 'Extra prefill time per prompt token in microseconds, added to the TTFT (default 0).'),
    itlMs: ms(10, 'Base inter-token latency (decode step) in ms (default 10).'),
    itlJitterMs: ms(0, 'Each decode step is uniform in [itlMs - jitter, itlMs + jitter] (default 0).'),
    maxNumSeqs: z
      .number()
      .int()
      .min(1)
      .default(256)
      .describe('Sequences generated at once; further requests wait in a FIFO queue (default 256, like vLLM).'),
    tokensPerChunk: z
      .number()
      .int()
      .min(1)
      .default(1)
      .describe(
        "Tokens per streamed chunk after the first, like vLLM's --stream-interval: the first content token is sent alone at TTFT (default 1).",
      ),
    eosMinTokens: z
      .number()
      .int()
      .min(1)
      .default(64)
      .describe(
        'Without ignore_eos the model stops after a seeded uniform number of tokens in [eosMinTokens, eosMaxTokens], capped by max_tokens (default 64).',
      ),
    eosMaxTokens: z
      .number()
      .int()
      .min(1)
      .default(256)
      .describe('Upper end of the EOS range, see eosMinTokens (default 256).'),
    maxModelLen: z
      .number()
      .int()
      .min(1)
      .default(32768)
      .describe(
        'Context length: prompt + max_tokens above it is a 400; without max_tokens the limit is what is left (default 32768).',
      ),
    kvCacheTokens: z
      .number()
      .int()
      .min(1)
      .default(131072)
      .describe('Simulated KV-cache capacity in tokens for vllm:kv_cache_usage_perc (default 131072).'),
    seed: z.number().int().default(42).describe('Seed of jitter, output lengths and fault probabilities (default 42).'),
    faults: z
      .array(z.union([faultRuleTextSchema, faultRuleObjectSchema]))
      .default([])
      .describe(
        'Fault rules, first hit wins: e.g. "status=503@p=0.01", "reset-after=5@every=10", "stall-after=3", "no-headers", "malformed-json-after=2", "malformed-sse-after=2", "status=429,retry-after=2" (default none).',
      ),
    faultHeader: z
      .boolean()
      .default(true)
      .describe('Honour the x-sim-fault request header, e.g. "x-sim-fault: reset-after=5" (default true).'),
    workers: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(1)
      .describe(
        'Worker processes sharing the port (node:cluster); maxNumSeqs is split between them and /metrics is aggregated (default 1).',
      ),
    tickMs: z
      .number()
      .min(0.1)
      .max(100)
      .default(1)
      .describe(
        'Scheduler granularity in ms: tokens due within one tick of the same stream go out in one write (default 1).',
      ),
    keepAliveTimeoutMs: z
      .number()
      .int()
      .min(0)
      .default(5000)
      .describe('Idle keep-alive timeout of client connections in ms (default 5000, like uvicorn in vLLM).'),
  })
  .strict()
  .superRefine((options, ctx) => {
    if (options.ttftJitterMs > options.ttftMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['ttftJitterMs'],
        message: 'must not exceed ttftMs (the mean would shift)',
      });
    }
    if (options.itlJitterMs > options.itlMs) {
      ctx.addIssue({ code: 'custom', path: ['itlJitterMs'], message: 'must not exceed itlMs (the mean would shift)' });
    }
    if (options.eosMaxTokens < options.eosMinTokens) {
      ctx.addIssue({ code: 'custom', path: ['eosMaxTokens'], message: 'must be >= eosMinTokens' });
    }
    if (options.maxNumSeqs < options.workers) {
      ctx.addIssue({ code: 'custom', path: ['maxNumSeqs'], message: 'must be >= workers (each worker needs a slot)' });
    }
  });

export type SimOptionsInput = z.input<typeof simOptionsSchema>;
export type SimOptions = Omit<z.output<typeof simOptionsSchema>, 'model'> & { models: string[]; faults: FaultRule[] };

/** Thrown for invalid simulator options; the message names each bad field and what was expected. */
export class SimOptionsError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`invalid simulator options: ${issues.join('; ')}`);
    this.name = 'SimOptionsError';
    this.issues = issues;
  }
}

type Issue = z.core.$ZodIssue;

/**
 * One "path: message" line per problem. For a union, the branch whose type matched the input says
 * what is wrong (rather than zod's generic "Invalid input").
 */
export function formatIssues(error: z.ZodError): string[] {
  const lines: string[] = [];
  const visit = (issue: Issue, prefix: PropertyKey[]) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union') {
      const matching = issue.errors.filter(
        (branch) => !(branch.length === 1 && branch[0]?.code === 'invalid_type' && branch[0].path.length === 0),
      );
      if (matching.length === 1) {
        for (const inner of matching[0] as Issue[]) visit(inner, path);
        return;
      }
    }
    lines.push(`${path.length > 0 ? path.map(String).join('.') : '(options)'}: ${issue.message}`);
  };
  for (const issue of error.issues) visit(issue, []);
  return lines;
}

/** Validates a plain object (e.g. mapped from CLI flags) and applies the defaults. */
export function parseSimOptions(input: unknown): SimOptions {
  const result = simOptionsSchema.safeParse(input ?? {});
  if (!result.success) throw new SimOptionsError(formatIssues(result.error));
  const { model, ...rest } = result.data;
  return { ...rest, models: typeof model === 'string' ? [model] : model, faults: rest.faults as FaultRule[] };
}

export interface SimOptionDescription {
  key: string;
  flag: string;
  type: 'string' | 'number' | 'integer' | 'boolean' | 'string[]';
  description: string;
  defaultValue: unknown;
}

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** One entry per option, for CLI flag definitions and --help text. */
export function describeSimOptions(): SimOptionDescription[] {
  const schema = z.toJSONSchema(simOptionsSchema, { io: 'input', unrepresentable: 'any' }) as {
    properties: Record<string, { type?: string; description?: string; default?: unknown }>;
  };
  return Object.entries(schema.properties).map(([key, property]) => {
    let type: SimOptionDescription['type'] = 'string';
    if (key === 'model' || key === 'faults') type = 'string[]';
    else if (property.type === 'integer' || property.type === 'number' || property.type === 'boolean') {
      type = property.type;
    }
    return {
      key,
      flag: `--${kebab(key)}`,
      type,
      description: property.description ?? '',
      defaultValue: property.default,
    };
  });
}
