/** Validated config → engine specs (TargetSpec, LoadSpec, DataSpec pieces, SLOs) and the redacted config. */
import { type Decimal, decimalToNumber } from '../../api/common.ts';
import type { LengthDistribution as ApiLengthDistribution } from '../../api/loadtest.ts';
import { lengthBounds } from '../../api/loadtest.ts';
import type { ApiKind, LengthDistribution, LoadSpec, TargetSpec, TimeoutSpec } from '../engine/types.ts';
import { ConfigError, type ConfigOverrides, runDefaults } from './overrides.ts';
import type { PlannedTarget, SloSpec } from './plan.ts';
import type { RunnerConfig, RunnerTarget } from './schema.ts';

export function toEngineDistribution(d: ApiLengthDistribution): LengthDistribution {
  if (d.type === 'fixed') return { kind: 'fixed', value: d.value ?? 1 };
  const { min, max } = lengthBounds(d);
  if (d.type === 'uniform') return { kind: 'uniform', min, max };
  return { kind: 'normal', mean: d.mean ?? 1, stddev: d.stddev ?? 0, min, max };
}

export function toLoadSpec(config: RunnerConfig, o: ConfigOverrides): LoadSpec {
  const l = config.load;
  const num = (d: Decimal | undefined) => (d === undefined ? undefined : decimalToNumber(d));
  const spec: LoadSpec = {
    profile: l.profile,
    warmupSeconds: l.warmupSeconds,
    cooldownSeconds: l.cooldownSeconds,
    lateThresholdMs: o.engine?.lateThresholdMs ?? runDefaults.lateThresholdMs,
  };
  const rate = num(l.rate);
  if (rate !== undefined) spec.rate = rate;
  if (l.concurrency !== undefined) spec.concurrency = l.concurrency;
  if (l.durationSeconds !== undefined) spec.durationSeconds = l.durationSeconds;
  if (l.maxRequests !== undefined) spec.maxRequests = l.maxRequests;
  if (l.maxErrors !== undefined) spec.maxErrors = l.maxErrors;
  if (l.stages) {
    spec.stages = l.stages.map((s) => {
      const stageRate = num(s.rate);
      return {
        durationSeconds: s.durationSeconds,
        ramp: s.ramp,
        ...(stageRate !== undefined ? { rate: stageRate } : {}),
        ...(s.concurrency !== undefined ? { concurrency: s.concurrency } : {}),
      };
    });
  }
  if (l.sweep) spec.sweep = { rates: l.sweep.rates, stepSeconds: l.sweep.stepSeconds, profile: l.sweep.profile };
  if (o.engine?.startAt !== undefined) spec.startAt = o.engine.startAt;
  if (o.engine?.share !== undefined) spec.share = o.engine.share;
  return spec;
}

/** The pool must not cap closed-loop concurrency below what was asked for. */
function defaultMaxConnections(load: LoadSpec): number {
  if (load.profile === 'synchronous') return 1;
  const stageMax = Math.max(0, ...(load.stages ?? []).map((s) => s.concurrency ?? 0));
  const c = Math.max(load.concurrency ?? 0, stageMax);
  return c > 0 ? c : runDefaults.maxConnections;
}

function inferApi(url: string): ApiKind | undefined {
  const path = new URL(url).pathname.replace(/\/+$/, '');
  if (path.endsWith('/chat/completions')) return 'chat';
  if (path.endsWith('/completions')) return 'completions';
  return undefined;
}

export function toPlannedTarget(
  t: RunnerTarget,
  index: number,
  envName: string,
  load: LoadSpec,
  o: ConfigOverrides,
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => string,
): PlannedTarget {
  const where = `environments.${envName}.targets[${index}]`;
  const inferred = inferApi(t.url);
  if (t.api !== undefined && inferred !== undefined && t.api !== inferred) {
    throw new ConfigError(
      `${where}.api: "${t.api}" contradicts the URL path, which ends in ${inferred === 'chat' ? '/chat/completions' : '/completions'}`,
    );
  }
  const timeouts: TimeoutSpec = {
    connectMs: (t.timeouts?.connectSeconds ?? runDefaults.connectSeconds) * 1000,
    headersMs: (t.timeouts?.headersSeconds ?? runDefaults.headersSeconds) * 1000,
    bodyIdleMs: (t.timeouts?.idleSeconds ?? runDefaults.idleSeconds) * 1000,
    ...(t.timeouts?.requestSeconds !== undefined ? { requestMs: t.timeouts.requestSeconds * 1000 } : {}),
  };
  const spec: TargetSpec = {
    url: t.url,
    model: t.model,
    api: t.api ?? inferred ?? 'chat',
    stream: t.stream,
    timeouts,
    maxConnections: t.maxConnections ?? defaultMaxConnections(load),
  };
  const apiKey = resolveApiKey(t, where, o, env, readFile);
  if (apiKey !== undefined) spec.apiKey = apiKey;
  if (t.headers) spec.headers = t.headers;
  return { name: t.name, spec };
}

function resolveApiKey(
  t: RunnerTarget,
  where: string,
  o: ConfigOverrides,
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => string,
): string | undefined {
  const fromFile = (path: string, what: string) => {
    let text: string;
    try {
      text = readFile(path);
    } catch (err) {
      throw new ConfigError(
        `${what} ${path}: cannot read the API key file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    const key = text.trim();
    if (!key) throw new ConfigError(`${what} ${path}: the API key file is empty`);
    return key;
  };
  if (o.apiKeyFile !== undefined) return fromFile(o.apiKeyFile, '--api-key-file');
  if (o.apiKeyEnv !== undefined) {
    const key = env[o.apiKeyEnv];
    if (key === undefined || key === '') {
      throw new ConfigError(`--api-key-env ${o.apiKeyEnv}: environment variable ${o.apiKeyEnv} is not set or empty`);
    }
    return key;
  }
  if (t.apiKeyFile !== undefined) return fromFile(t.apiKeyFile, `${where}.apiKeyFile`);
  return t.api_key;
}

export function toSloSpec(slo: RunnerConfig['slo']): SloSpec {
  if (!slo) return {};
  const out: SloSpec = {};
  const ms = [
    ['ttftP95Milliseconds', 'ttftP95Ms'],
    ['ttftP99Milliseconds', 'ttftP99Ms'],
    ['tpotP95Milliseconds', 'tpotP95Ms'],
    ['tpotP99Milliseconds', 'tpotP99Ms'],
    ['itlP95Milliseconds', 'itlP95Ms'],
    ['e2eP95Milliseconds', 'e2eP95Ms'],
    ['e2eP99Milliseconds', 'e2eP99Ms'],
  ] as const;
  for (const [from, to] of ms) if (slo[from] !== undefined) out[to] = slo[from];
  const dec = ['maxErrorRatePercent', 'minRequestsPerSecond', 'minOutputTokensPerSecond', 'minGoodputPercent'] as const;
  for (const k of dec) {
    const v = slo[k];
    if (v !== undefined) out[k] = decimalToNumber(v);
  }
  if (slo.goodput) {
    out.goodput = {
      ...(slo.goodput.ttftMilliseconds !== undefined ? { ttftMs: slo.goodput.ttftMilliseconds } : {}),
      ...(slo.goodput.tpotMilliseconds !== undefined ? { tpotMs: slo.goodput.tpotMilliseconds } : {}),
      ...(slo.goodput.e2eMilliseconds !== undefined ? { e2eMs: slo.goodput.e2eMilliseconds } : {}),
    };
  }
  return out;
}

/** The validated config of the selected environment, with API keys and header values removed. */
export function redactConfig(config: RunnerConfig, envName: string, seed: number): Record<string, unknown> {
  const env = config.environments[envName];
  return {
    ...(config.loadtest ? { loadtest: config.loadtest } : {}),
    environment: envName,
    environments: {
      [envName]: {
        ...env,
        targets: env?.targets.map(({ api_key, apiKeyFile, headers, url, ...rest }) => ({
          ...rest,
          url: url.replace(/\/\/[^/@]*@/, '//REDACTED@'),
          ...(api_key !== undefined || apiKeyFile !== undefined ? { apiKey: '(redacted)' } : {}),
          ...(headers ? { headers: Object.fromEntries(Object.keys(headers).map((h) => [h, '(redacted)'])) } : {}),
        })),
      },
    },
    load: { ...config.load, seed },
    data: config.data,
    ...(config.slo ? { slo: config.slo } : {}),
  };
}
