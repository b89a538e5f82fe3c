/**
 * From config file + flag overrides to a validated `RunPlan`.
 *
 * Order: parse YAML → pick the environment → expand `${VAR}` in that environment and the shared sections
 * only (a variable used by another environment need not be set) → merge flag overrides → validate with the
 * shared zod schemas → map to the engine's specs. Every error names the field path (and the flag it came
 * from, when a flag set it) and is a `ConfigError`.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { labelValuePattern } from '../../api/common.ts';
import { checkPlanForEngine } from './engine-checks.ts';
import { ExpansionError, expandTree } from './expand.ts';
import { formatIssues } from './issues.ts';
import { ConfigError, type ConfigOverrides, runDefaults } from './overrides.ts';
import type { PlannedTarget, RunPlan } from './plan.ts';
import { isRecord, normaliseDecimals, RunnerConfig } from './schema.ts';
import { redactConfig, toEngineDistribution, toLoadSpec, toPlannedTarget, toSloSpec } from './to-plan.ts';

export { ConfigError, type ConfigOverrides, runDefaults } from './overrides.ts';

export interface ResolveInput {
  /** Path of the YAML config (read here) or its text (for tests). */
  configPath?: string;
  configText?: string;
  overrides: ConfigOverrides;
  env: NodeJS.ProcessEnv;
  /** Reads an API key file (tests inject this). */
  readFile?: (path: string) => string;
}

export function resolveRunPlan(input: ResolveInput): RunPlan {
  const o = input.overrides;
  const readFile = input.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const raw = loadRaw(input, readFile);

  // --- environment selection (before expansion, so only the chosen one needs its variables)
  const rawEnvs = isRecord(raw.environments) ? raw.environments : undefined;
  let envName: string;
  let rawEnv: Record<string, unknown>;
  if (rawEnvs && Object.keys(rawEnvs).length > 0) {
    const names = Object.keys(rawEnvs);
    if (o.environment !== undefined) {
      if (!(o.environment in rawEnvs)) {
        throw new ConfigError(
          `--environment ${o.environment}: no such environment in the config (available: ${names.join(', ')})`,
        );
      }
      envName = o.environment;
    } else if (names.length === 1) {
      envName = names[0] as string;
    } else {
      throw new ConfigError(
        `the config defines several environments; choose one with --environment (available: ${names.join(', ')})`,
      );
    }
    const chosen = rawEnvs[envName];
    rawEnv = isRecord(chosen) ? chosen : {};
    if (!isRecord(chosen)) {
      throw new ConfigError(`environments.${envName}: expected an object with targets`);
    }
  } else if (raw.environments !== undefined && !isRecord(raw.environments)) {
    throw new ConfigError('environments: expected a map of environment name → { targets: [...] }');
  } else {
    envName = o.environment ?? runDefaults.environment;
    if (!labelValuePattern.test(envName) || envName.length > 63) {
      throw new ConfigError(
        `--environment ${envName}: expected a label value: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit`,
      );
    }
    if (o.target?.url === undefined) {
      throw new ConfigError(
        input.configPath || input.configText
          ? `environments: the config defines no environment; add one, or give --target-url and --model`
          : '--target-url is required (or give --config with environments → targets)',
      );
    }
    if (o.target.model === undefined) {
      throw new ConfigError('--model is required with --target-url (the model name sent in each request)');
    }
    rawEnv = { targets: [{ name: o.target.name ?? targetNameFromModel(o.target.model) }] };
  }

  // --- expansion of the selected environment and the shared sections only
  let expanded: Record<string, unknown>;
  try {
    const shared: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) if (k !== 'environments') shared[k] = v;
    expanded = expandTree(shared, input.env) as Record<string, unknown>;
    expanded.environments = { [envName]: expandTree(rawEnv, input.env, `environments.${envName}`) };
  } catch (err) {
    if (err instanceof ExpansionError) throw new ConfigError(err.message);
    throw err;
  }

  // --- flag overrides
  const env = (expanded.environments as Record<string, Record<string, unknown>>)[envName] as Record<string, unknown>;
  if (Array.isArray(env.targets) && o.targetName !== undefined) {
    const names = env.targets.map((t) => (isRecord(t) ? t.name : undefined));
    const picked = env.targets.filter((t) => isRecord(t) && t.name === o.targetName);
    if (picked.length === 0) {
      throw new ConfigError(
        `--target ${o.targetName}: no such target in environment ${envName} (available: ${names.join(', ')})`,
      );
    }
    env.targets = picked;
  }
  if (Array.isArray(env.targets) && o.target) {
    env.targets = env.targets.map((t) => (isRecord(t) ? mergeTarget(t, o.target ?? {}) : t));
  }
  for (const key of ['provider', 'cluster', 'region'] as const) {
    const v = o.labels?.[key];
    if (v !== undefined) env[key] = v;
  }
  if (o.labels?.loadtest !== undefined) expanded.loadtest = o.labels.loadtest;
  // A section that is not a mapping would otherwise be replaced by the flags and defaults without a word.
  for (const section of ['load', 'data', 'slo'] as const) {
    const value = expanded[section];
    if (value !== undefined && value !== null && !isRecord(value)) {
      throw new ConfigError(`${section}: expected a mapping of ${section} settings, got ${describeValue(value)}`);
    }
  }
  expanded.load = mergeLoad(isRecord(expanded.load) ? expanded.load : {}, o.load ?? {});
  expanded.data = applyDataDefaults({ ...(isRecord(expanded.data) ? expanded.data : {}), ...(o.data ?? {}) });
  if (o.slo && Object.keys(o.slo).length > 0) {
    const slo = isRecord(expanded.slo) ? expanded.slo : {};
    const goodput = {
      ...(isRecord(slo.goodput) ? slo.goodput : {}),
      ...(isRecord(o.slo.goodput) ? o.slo.goodput : {}),
    };
    expanded.slo = { ...slo, ...o.slo, ...(Object.keys(goodput).length > 0 ? { goodput } : {}) };
  }

  // --- validation
  const normalised = normaliseDecimals(expanded);
  const parsed = RunnerConfig.safeParse(normalised);
  if (!parsed.success) {
    throw new ConfigError(formatIssues(parsed.error, o.sources ?? {}, input.configPath, normalised));
  }
  const config = parsed.data;
  const environment = config.environments[envName];
  if (!environment) throw new ConfigError(`environments.${envName}: missing after validation`);

  // --- mapping to engine specs
  const load = toLoadSpec(config, o);
  const targets: PlannedTarget[] = environment.targets.map((t, i) =>
    toPlannedTarget(t, i, envName, load, o, input.env, readFile),
  );
  const labels = {
    environment: envName,
    ...(environment.provider ? { provider: environment.provider } : {}),
    ...(environment.cluster ? { cluster: environment.cluster } : {}),
    ...(environment.region ? { region: environment.region } : {}),
    ...(config.loadtest ? { loadtest: config.loadtest } : {}),
  };
  const data = config.data;
  const seed = config.load.seed ?? data.seed ?? runDefaults.seed;
  const plan: RunPlan = {
    labels,
    targets,
    load,
    data: {
      promptTokens: toEngineDistribution(data.promptTokens ?? { type: 'fixed', value: runDefaults.promptTokens }),
      outputTokens: toEngineDistribution(data.outputTokens ?? { type: 'fixed', value: runDefaults.outputTokens }),
      sharedPrefixTokens: data.sharedPrefixTokens,
      ...(data.dataset ? { dataset: data.dataset } : {}),
      seed,
      calibration: data.calibration,
    },
    slo: toSloSpec(config.slo),
    effectiveConfig: redactConfig(config, envName, seed),
  };
  checkPlanForEngine(plan, o.sources);
  checkStreamingSlos(config, envName, o.sources ?? {});
  return plan;
}

/** TTFT, ITL and TPOT exist only for streamed responses; an SLO on them without streaming could never be met. */
function checkStreamingSlos(config: RunnerConfig, envName: string, sources: Record<string, string>): void {
  const targets = config.environments[envName]?.targets ?? [];
  const index = targets.findIndex((t) => !t.stream);
  if (index === -1 || !config.slo) return;
  const slo = config.slo;
  const fields = [
    ...(
      [
        'ttftP95Milliseconds',
        'ttftP99Milliseconds',
        'tpotP95Milliseconds',
        'tpotP99Milliseconds',
        'itlP95Milliseconds',
      ] as const
    )
      .filter((k) => slo[k] !== undefined)
      .map((k) => `slo.${k}`),
    ...(['ttftMilliseconds', 'tpotMilliseconds'] as const)
      .filter((k) => slo.goodput?.[k] !== undefined)
      .map((k) => `slo.goodput.${k}`),
  ];
  const field = fields[0];
  if (field === undefined) return;
  const flag = sources[field];
  throw new ConfigError(
    `${field}${flag ? ` (from ${flag})` : ''}: needs streaming, but environments.${envName}.targets[${index}] has stream: false (--no-stream); only end-to-end latency is measured without streaming`,
  );
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'string' ? `"${value.slice(0, 40)}"` : String(value);
}

function loadRaw(input: ResolveInput, readFile: (path: string) => string): Record<string, unknown> {
  let text = input.configText;
  const name = input.configPath ?? 'config';
  if (text === undefined && input.configPath !== undefined) {
    try {
      text = readFile(input.configPath);
    } catch (err) {
      throw new ConfigError(
        `--config ${input.configPath}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  }
  if (text === undefined) return {};
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const where = first?.linePos?.[0] ? `${name}:${first.linePos[0].line}:${first.linePos[0].col}` : name;
    const what = (first?.message.split('\n')[0] ?? 'parse error').replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(`${where}: invalid YAML: ${what}`);
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (!isRecord(value))
    throw new ConfigError(`${name}: expected a mapping at the top level (environments, load, data, slo)`);
  return value;
}

function targetNameFromModel(model: string): string {
  const last = model.split('/').at(-1) ?? model;
  const name = last
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return name || 'target';
}

function mergeTarget(t: Record<string, unknown>, o: NonNullable<ConfigOverrides['target']>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...t };
  for (const key of ['name', 'url', 'model', 'api', 'stream', 'maxConnections'] as const) {
    if (o[key] !== undefined) out[key] = o[key];
  }
  if (o.headers) out.headers = { ...(isRecord(t.headers) ? t.headers : {}), ...o.headers };
  if (o.timeouts) out.timeouts = { ...(isRecord(t.timeouts) ? t.timeouts : {}), ...o.timeouts };
  return out;
}

const openLoop = ['constant', 'poisson'];

/** Flag values win; a flag-given profile drops config fields that profile does not take. */
function mergeLoad(config: Record<string, unknown>, flags: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  const profile = flags.profile;
  if (typeof profile === 'string' && profile !== config.profile) {
    if (!openLoop.includes(profile)) delete out.rate;
    if (!['concurrent', 'throughput', 'sweep'].includes(profile)) delete out.concurrency;
    if (profile !== 'sweep') delete out.sweep;
    if (profile === 'sweep' || profile === 'synchronous') delete out.stages;
    if (profile === 'sweep') delete out.durationSeconds;
  }
  if (flags.stages !== undefined) {
    delete out.rate;
    delete out.concurrency;
    delete out.durationSeconds;
  }
  Object.assign(out, flags);
  if (out.sweep !== undefined && isRecord(config.sweep) && isRecord(flags.sweep)) {
    out.sweep = { ...config.sweep, ...flags.sweep };
  }
  if (out.profile === undefined) {
    if (flags.stages !== undefined) {
      throw new ConfigError(
        '--stages: also give --profile (constant or poisson for rates, concurrent or throughput for concurrencies)',
      );
    }
    out.profile = out.rate !== undefined ? 'constant' : out.concurrency !== undefined ? 'concurrent' : 'synchronous';
  }
  // Flag stages carry a bare VALUE; the profile says whether it is a rate or a concurrency.
  if (Array.isArray(flags.stages)) {
    const rates = openLoop.includes(String(out.profile));
    out.stages = flags.stages.map((stage) => {
      if (!isRecord(stage) || !('value' in stage)) return stage;
      const { value, ...rest } = stage;
      const n = Number(value);
      return rates ? { ...rest, rate: Number.isInteger(n) ? n : String(n) } : { ...rest, concurrency: n };
    });
  }
  if (
    out.durationSeconds === undefined &&
    out.maxRequests === undefined &&
    out.stages === undefined &&
    out.profile !== 'sweep'
  ) {
    out.durationSeconds = runDefaults.durationSeconds;
  }
  return out;
}

function applyDataDefaults(data: Record<string, unknown>): Record<string, unknown> {
  if (data.dataset !== undefined) return data;
  return {
    ...data,
    promptTokens: data.promptTokens ?? runDefaults.promptTokens,
    outputTokens: data.outputTokens ?? runDefaults.outputTokens,
  };
}

/** `environments.development.targets[0].url: expected ...` — one line per issue. */
