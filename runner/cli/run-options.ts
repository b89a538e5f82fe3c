/** Turns parsed `loadlm run` flags into config overrides and runtime options, checking every value. */
import { distributionSyntax, parseDistribution } from '../config/distribution.ts';
import type { ConfigOverrides } from '../config/resolve.ts';
import type { ParsedFlags } from './args.ts';
import { defaultStartTimeoutSeconds } from './run-flags.ts';
import {
  flagError,
  maxDurationSeconds,
  parseDurationFlag,
  parseEnumFlag,
  parseNumberFlag,
  parseUrlFlag,
} from './values.ts';

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'off';
export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

export interface MetricsOptions {
  enabled: boolean;
  host: string;
  port: number;
  lingerSeconds: number;
  pushgateway?: { url: string; intervalSeconds: number };
}

export interface OutputOptions {
  reportPath?: string;
  csvPath?: string;
  csvPerRequest: boolean;
  resultFile?: string;
  resultIntervalSeconds: number;
  progress: ProgressMode;
  progressIntervalSeconds: number;
  quiet: boolean;
}

export interface ModeOptions {
  continuous: boolean;
  intervalSeconds: number;
  gracePeriodSeconds: number;
}

/** The operator's runner Job hand-off (runner/handoff): config from env, results and start via ConfigMaps. */
export interface HandoffOptions {
  resultConfigMap: string;
  startSignal?: string;
  startTimeoutSeconds: number;
}

/** --job-index/--runners-per-target: which target and shard this runner takes (runner/handoff/assignment.ts). */
export interface RunnerIndexOptions {
  jobIndex: number;
  runnersPerTarget: number;
}

export interface RunCommandOptions {
  configPath?: string;
  /** Environment variable holding the YAML config (--config-env). */
  configEnv?: string;
  handoff?: HandoffOptions;
  runnerIndex?: RunnerIndexOptions;
  overrides: ConfigOverrides;
  metrics: MetricsOptions;
  output: OutputOptions;
  mode: ModeOptions;
  logLevel: LogLevel;
}

const profiles = ['synchronous', 'concurrent', 'constant', 'poisson', 'throughput', 'sweep'] as const;

export function runOptionsFromFlags(parsed: ParsedFlags): RunCommandOptions {
  const v = parsed.values;
  const str = (name: string): string | undefined => {
    const x = v[name];
    return typeof x === 'string' ? x : undefined;
  };
  const bool = (name: string): boolean => v[name] === true;
  const sources: Record<string, string> = {};
  const from = (path: string, flag: string) => {
    sources[path] = `--${flag}`;
  };
  const int = (name: string, min: number, max = 2 ** 32 - 1) => {
    const s = str(name);
    return s === undefined ? undefined : parseNumberFlag(name, s, { min, max, integer: true });
  };
  const wholeSeconds = (name: string, min: number) => {
    const s = str(name);
    if (s === undefined) return undefined;
    const seconds = parseDurationFlag(name, s, { min });
    if (!Number.isInteger(seconds)) throw flagError(name, `expected whole seconds (e.g. 90s or 2m), got ${s}`);
    return seconds;
  };
  const duration = (name: string, fallback: number, min = 0) => {
    const s = str(name);
    return s === undefined ? fallback : parseDurationFlag(name, s, { min });
  };
  /** Rates and percentages: a number with at most three decimals (the CRD's Decimal). */
  const decimal = (
    name: string,
    { min, max, exclusiveMin = false }: { min: number; max?: number; exclusiveMin?: boolean },
  ) => {
    const s = str(name);
    if (s === undefined) return undefined;
    const n = parseNumberFlag(name, s, { min, exclusiveMin, ...(max !== undefined ? { max } : {}) });
    if (Math.round(n * 1000) !== n * 1000) throw flagError(name, `expected at most 3 decimal places, got ${s}`);
    return Number.isInteger(n) ? n : String(n);
  };

  // ---- target
  const target: NonNullable<ConfigOverrides['target']> = {};
  const url = str('target-url');
  if (url !== undefined) {
    target.url = parseUrlFlag('target-url', url);
  }
  const model = str('model');
  if (model !== undefined) target.model = model;
  const targetName = str('target-name');
  if (targetName !== undefined) target.name = targetName;
  for (const [field, flag] of [
    ['url', 'target-url'],
    ['model', 'model'],
    ['name', 'target-name'],
    ['api', 'api'],
    ['maxConnections', 'max-connections'],
    ['headers', 'header'],
    ['timeouts.connectSeconds', 'connect-timeout'],
    ['timeouts.headersSeconds', 'headers-timeout'],
    ['timeouts.idleSeconds', 'idle-timeout'],
    ['timeouts.requestSeconds', 'request-timeout'],
  ] as const) {
    if (v[flag] !== undefined) from(`environments.*.targets[*].${field}`, flag);
  }
  const api = str('api');
  if (api !== undefined) target.api = parseEnumFlag('api', api, ['chat', 'completions'] as const);
  if (bool('no-stream')) target.stream = false;
  const maxConnections = int('max-connections', 1, 100_000);
  if (maxConnections !== undefined) target.maxConnections = maxConnections;
  const timeouts: NonNullable<NonNullable<ConfigOverrides['target']>['timeouts']> = {};
  const connect = wholeSeconds('connect-timeout', 1);
  if (connect !== undefined) timeouts.connectSeconds = connect;
  const headersT = wholeSeconds('headers-timeout', 1);
  if (headersT !== undefined) timeouts.headersSeconds = headersT;
  const idle = wholeSeconds('idle-timeout', 1);
  if (idle !== undefined) timeouts.idleSeconds = idle;
  const req = wholeSeconds('request-timeout', 1);
  if (req !== undefined) timeouts.requestSeconds = req;
  if (Object.keys(timeouts).length > 0) target.timeouts = timeouts;
  const headerList = v.header;
  if (Array.isArray(headerList)) {
    const headers: Record<string, string> = {};
    for (const h of headerList) {
      const colon = h.indexOf(':');
      const name = colon > 0 ? h.slice(0, colon).trim() : '';
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
        throw flagError(
          'header',
          `expected "NAME: VALUE" with a valid header name, got "${colon > 0 ? `${name}: …` : h.slice(0, 40)}"`,
        );
      }
      if (name.toLowerCase() === 'authorization') {
        throw flagError('header', 'use --api-key-env or --api-key-file for the Authorization header');
      }
      headers[name] = h.slice(colon + 1).trim();
    }
    target.headers = headers;
  }

  // ---- load (CRD field names)
  const load: Record<string, unknown> = {};
  const profile = str('profile');
  if (profile !== undefined) {
    load.profile = parseEnumFlag('profile', profile, profiles);
    from('load.profile', 'profile');
  }
  const rate = decimal('rate', { min: 0, exclusiveMin: true });
  if (rate !== undefined) {
    load.rate = rate;
    from('load.rate', 'rate');
  }
  const concurrency = int('concurrency', 1, 100_000);
  if (concurrency !== undefined) {
    load.concurrency = concurrency;
    from('load.concurrency', 'concurrency');
  }
  const durationSeconds = wholeSeconds('duration', 1);
  if (durationSeconds !== undefined) {
    load.durationSeconds = durationSeconds;
    from('load.durationSeconds', 'duration');
  }
  const maxRequests = int('max-requests', 1, 1_000_000_000);
  if (maxRequests !== undefined) {
    load.maxRequests = maxRequests;
    from('load.maxRequests', 'max-requests');
  }
  const maxErrors = int('max-errors', 1, 1_000_000_000);
  if (maxErrors !== undefined) {
    load.maxErrors = maxErrors;
    from('load.maxErrors', 'max-errors');
  }
  const warmup = wholeSeconds('warmup', 0);
  if (warmup !== undefined) {
    load.warmupSeconds = warmup;
    from('load.warmupSeconds', 'warmup');
  }
  const cooldown = wholeSeconds('cooldown', 0);
  if (cooldown !== undefined) {
    load.cooldownSeconds = cooldown;
    from('load.cooldownSeconds', 'cooldown');
  }
  const seed = int('seed', 0, 4_294_967_295);
  if (seed !== undefined) {
    load.seed = seed;
    from('load.seed', 'seed');
  }
  const stages = str('stages');
  if (stages !== undefined) {
    load.stages = parseStages(stages);
    from('load.stages', 'stages');
  }
  const sweepRates = int('sweep-rates', 1, 50);
  const sweepStep = wholeSeconds('sweep-step', 10);
  const sweepProfile = str('sweep-profile');
  if (load.profile === 'sweep' || sweepRates !== undefined || sweepStep !== undefined || sweepProfile !== undefined) {
    // Name the sweep flag actually given, so "sweep is only allowed when profile is sweep" points at it.
    const sweepFlag = (['sweep-rates', 'sweep-step', 'sweep-profile'] as const).find((f) => v[f] !== undefined);
    load.sweep = {
      rates: sweepRates ?? 10,
      stepSeconds: sweepStep ?? 30,
      ...(sweepProfile !== undefined
        ? { profile: parseEnumFlag('sweep-profile', sweepProfile, ['constant', 'poisson'] as const) }
        : {}),
    };
    if (sweepFlag !== undefined) {
      from('load.sweep', sweepFlag);
      from('load.sweep.rates', 'sweep-rates');
      from('load.sweep.stepSeconds', 'sweep-step');
      from('load.sweep.profile', 'sweep-profile');
    }
  }

  // ---- data
  const data: Record<string, unknown> = {};
  for (const [flag, field] of [
    ['prompt-tokens', 'promptTokens'],
    ['output-tokens', 'outputTokens'],
  ] as const) {
    const s = str(flag);
    if (s === undefined) continue;
    try {
      parseDistribution(s);
    } catch (err) {
      throw flagError(
        flag,
        (err as Error).message.replace(`expected ${distributionSyntax}`, `expected ${distributionSyntax}`),
      );
    }
    data[field] = s;
    from(`data.${field}`, flag);
  }
  const prefix = int('shared-prefix-tokens', 0, 1_000_000);
  if (prefix !== undefined) {
    data.sharedPrefixTokens = prefix;
    from('data.sharedPrefixTokens', 'shared-prefix-tokens');
  }
  const dataset = str('dataset');
  if (dataset !== undefined) {
    data.dataset = dataset;
    from('data.dataset', 'dataset');
  }
  const calibration = str('calibration');
  if (calibration !== undefined)
    data.calibration = parseEnumFlag('calibration', calibration, ['probe', 'off'] as const);

  // ---- slo
  const slo: Record<string, unknown> = {};
  const goodput: Record<string, unknown> = {};
  const msFlags = [
    ['slo-ttft-p95-ms', 'ttftP95Milliseconds'],
    ['slo-ttft-p99-ms', 'ttftP99Milliseconds'],
    ['slo-tpot-p95-ms', 'tpotP95Milliseconds'],
    ['slo-tpot-p99-ms', 'tpotP99Milliseconds'],
    ['slo-itl-p95-ms', 'itlP95Milliseconds'],
    ['slo-e2e-p95-ms', 'e2eP95Milliseconds'],
    ['slo-e2e-p99-ms', 'e2eP99Milliseconds'],
  ] as const;
  for (const [flag, field] of msFlags) {
    const n = int(flag, 1, 3_600_000);
    if (n !== undefined) {
      slo[field] = n;
      from(`slo.${field}`, flag);
    }
  }
  for (const [flag, field] of [
    ['goodput-ttft-ms', 'ttftMilliseconds'],
    ['goodput-tpot-ms', 'tpotMilliseconds'],
    ['goodput-e2e-ms', 'e2eMilliseconds'],
  ] as const) {
    const n = int(flag, 1, 3_600_000);
    if (n !== undefined) {
      goodput[field] = n;
      from(`slo.goodput.${field}`, flag);
    }
  }
  if (Object.keys(goodput).length > 0) slo.goodput = goodput;
  // "minGoodputPercent requires goodput" is reported on slo.goodput; without a --goodput-* flag, blame the flag given.
  else if (v['slo-min-goodput'] !== undefined) from('slo.goodput', 'slo-min-goodput');
  const decimals = [
    ['slo-max-error-rate', 'maxErrorRatePercent', 0, 100],
    ['slo-min-rps', 'minRequestsPerSecond', 0, undefined],
    ['slo-min-output-tps', 'minOutputTokensPerSecond', 0, undefined],
    ['slo-min-goodput', 'minGoodputPercent', 0, 100],
  ] as const;
  for (const [flag, field, min, max] of decimals) {
    const exclusiveMin = field === 'minRequestsPerSecond' || field === 'minOutputTokensPerSecond';
    const d = decimal(flag, { min, exclusiveMin, ...(max !== undefined ? { max } : {}) });
    if (d !== undefined) {
      slo[field] = d;
      from(`slo.${field}`, flag);
    }
  }

  // ---- engine-only
  const engine: NonNullable<ConfigOverrides['engine']> = {};
  const late = str('late-threshold');
  if (late !== undefined) {
    engine.lateThresholdMs = parseDurationFlag('late-threshold', late, { allowZero: false, max: 3600 }) * 1000;
  }
  const shard = str('shard');
  if (shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(shard);
    const index = Number(m?.[1]);
    const count = Number(m?.[2]);
    if (!m || count < 1 || index >= count) {
      throw flagError('shard', `expected I/N with 0 ≤ I < N (e.g. 0/3), got "${shard}"`);
    }
    engine.share = { index, count };
  }
  const startAt = str('start-at');
  if (startAt !== undefined) {
    const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
    // Date.parse alone accepts almost anything ("-5" is a date in 2001).
    const ms = /^\d+$/.test(startAt) ? Number(startAt) : rfc3339.test(startAt) ? Date.parse(startAt) : Number.NaN;
    if (!Number.isFinite(ms) || ms < 0) {
      throw flagError('start-at', `expected an RFC 3339 time or epoch milliseconds, got "${startAt}"`);
    }
    // Waiting longer than any run lasts is a typo (seconds for milliseconds, a wrong year), not a plan.
    if (ms > Date.now() + maxDurationSeconds * 1000) {
      throw flagError('start-at', `expected a time within the next 7 days, got "${startAt}"`);
    }
    engine.startAt = ms;
  }

  // ---- labels
  const labels: NonNullable<ConfigOverrides['labels']> = {};
  for (const key of ['provider', 'cluster', 'region', 'loadtest'] as const) {
    const s = str(key);
    if (s !== undefined) {
      labels[key] = s;
      from(key === 'loadtest' ? 'loadtest' : `environments.*.${key}`, key);
    }
  }

  const overrides: ConfigOverrides = { sources };
  const environment = str('environment');
  if (environment !== undefined) overrides.environment = environment;
  const selected = str('target');
  if (selected !== undefined) overrides.targetName = selected;
  if (Object.keys(target).length > 0) overrides.target = target;
  const keyEnv = str('api-key-env');
  if (keyEnv !== undefined) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(keyEnv)) {
      throw flagError('api-key-env', `expected an environment variable name, got "${keyEnv}"`);
    }
    overrides.apiKeyEnv = keyEnv;
  }
  const keyFile = str('api-key-file');
  if (keyFile !== undefined) overrides.apiKeyFile = keyFile;
  if (keyEnv !== undefined && keyFile !== undefined) {
    throw flagError('api-key-file', 'give --api-key-env or --api-key-file, not both');
  }
  if (Object.keys(labels).length > 0) overrides.labels = labels;
  if (Object.keys(load).length > 0) overrides.load = load;
  if (Object.keys(data).length > 0) overrides.data = data;
  if (Object.keys(slo).length > 0) overrides.slo = slo;
  if (Object.keys(engine).length > 0) overrides.engine = engine;

  // ---- metrics, outputs, modes
  const metricsPort = int('metrics-port', 0, 65_535);
  const pushUrl = str('pushgateway');
  const pushInterval = duration('push-interval', 15, 1);
  if (pushUrl === undefined && v['push-interval'] !== undefined)
    throw flagError('push-interval', 'needs --pushgateway');
  if (bool('no-metrics') && v.linger !== undefined) throw flagError('linger', 'does not apply with --no-metrics');
  const metrics: MetricsOptions = {
    enabled: !bool('no-metrics'),
    host: str('metrics-host') ?? '0.0.0.0',
    port: metricsPort ?? 9090,
    lingerSeconds: duration('linger', 0),
  };
  if (pushUrl !== undefined) {
    metrics.pushgateway = {
      url: parseUrlFlag('pushgateway', pushUrl),
      intervalSeconds: pushInterval,
    };
  }
  const progress = str('progress');
  const output: OutputOptions = {
    csvPerRequest: bool('csv-per-request'),
    resultIntervalSeconds: duration('result-interval', 10, 1),
    progress:
      progress === undefined ? 'auto' : parseEnumFlag('progress', progress, ['auto', 'bar', 'lines', 'off'] as const),
    progressIntervalSeconds: duration('progress-interval', 5, 0.1),
    quiet: bool('quiet'),
  };
  const report = str('report');
  if (report !== undefined) output.reportPath = report;
  const csv = str('csv');
  if (csv !== undefined) output.csvPath = csv;
  if (output.csvPerRequest && csv === undefined) throw flagError('csv-per-request', 'needs --csv FILE');
  const resultFile = str('result-file');
  if (resultFile !== undefined) output.resultFile = resultFile;
  if (v['result-interval'] !== undefined && resultFile === undefined && str('result-configmap') === undefined) {
    throw flagError('result-interval', 'needs --result-file or --result-configmap');
  }
  const continuous = bool('continuous');
  if (!continuous && str('interval') !== undefined) throw flagError('interval', 'only applies with --continuous');
  const mode: ModeOptions = {
    continuous,
    intervalSeconds: duration('interval', 300, 1),
    gracePeriodSeconds: duration('grace-period', 30),
  };
  const level = str('log-level');
  const options: RunCommandOptions = {
    overrides,
    metrics,
    output,
    mode,
    logLevel: level === undefined ? 'info' : parseEnumFlag('log-level', level, logLevels),
  };
  const config = str('config');
  if (config !== undefined) options.configPath = config;
  parseHandoffFlags(str, int, options);
  return options;
}

const envNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A ConfigMap name: a DNS subdomain. */
const objectNamePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function objectName(flag: string, text: string): string {
  if (text.length > 253 || !objectNamePattern.test(text)) {
    throw flagError(flag, `expected a ConfigMap name (lowercase letters, digits, "-" and "."), got "${text}"`);
  }
  return text;
}

/** The hand-off flags; each conflict names both flags. */
function parseHandoffFlags(
  str: (name: string) => string | undefined,
  int: (name: string, min: number, max?: number) => number | undefined,
  options: RunCommandOptions,
): void {
  const configEnv = str('config-env');
  if (configEnv !== undefined) {
    if (!envNamePattern.test(configEnv)) {
      throw flagError('config-env', `expected an environment variable name, got "${configEnv}"`);
    }
    if (options.configPath !== undefined) throw flagError('config-env', 'give --config or --config-env, not both');
    options.configEnv = configEnv;
  }

  const resultConfigMap = str('result-configmap');
  const startSignal = str('start-signal');
  const startTimeout = str('start-timeout');
  if (resultConfigMap === undefined) {
    if (startSignal !== undefined) throw flagError('start-signal', 'needs --result-configmap');
    if (startTimeout !== undefined) throw flagError('start-timeout', 'needs --result-configmap');
  } else {
    if (options.output.resultFile !== undefined) {
      throw flagError('result-configmap', 'give --result-file or --result-configmap, not both');
    }
    if (options.mode.continuous) throw flagError('result-configmap', 'does not apply with --continuous');
    const handoff: HandoffOptions = {
      resultConfigMap: objectName('result-configmap', resultConfigMap),
      startTimeoutSeconds:
        startTimeout === undefined
          ? defaultStartTimeoutSeconds
          : parseDurationFlag('start-timeout', startTimeout, { allowZero: false }),
    };
    if (startSignal !== undefined) {
      if (options.overrides.engine?.startAt !== undefined) {
        throw flagError('start-signal', 'give --start-at or --start-signal, not both');
      }
      handoff.startSignal = objectName('start-signal', startSignal);
    }
    options.handoff = handoff;
  }

  const jobIndex = int('job-index', 0, 999_999);
  const runnersPerTarget = int('runners-per-target', 1, 100_000);
  if (jobIndex === undefined && runnersPerTarget === undefined) return;
  if (jobIndex === undefined) throw flagError('runners-per-target', 'needs --job-index');
  if (runnersPerTarget === undefined) throw flagError('job-index', 'needs --runners-per-target');
  if (options.overrides.engine?.share !== undefined)
    throw flagError('job-index', 'give --shard or --job-index, not both');
  if (options.overrides.targetName !== undefined) {
    throw flagError('job-index', 'give --target or --job-index, not both (the index picks the target)');
  }
  options.runnerIndex = { jobIndex, runnersPerTarget };
}

/** `30s:5,60s:20:ramp` → CRD stages. Which of rate/concurrency a VALUE is depends on the profile. */
export function parseStages(text: string): Array<Record<string, unknown>> {
  return text.split(',').map((part, i) => {
    const [d, value, ramp, extra] = part.trim().split(':');
    const where = `stage ${i + 1} ("${part.trim()}")`;
    if (d === undefined || value === undefined || extra !== undefined || (ramp !== undefined && ramp !== 'ramp')) {
      throw flagError('stages', `${where}: expected DURATION:VALUE or DURATION:VALUE:ramp`);
    }
    const seconds = parseDurationFlag('stages', d, { min: 1 });
    if (!Number.isInteger(seconds)) throw flagError('stages', `${where}: expected whole seconds`);
    const n = parseNumberFlag('stages', value, { min: 0, exclusiveMin: true });
    // The profile decides later whether VALUE is a rate or a concurrency; keep both readings.
    return { durationSeconds: seconds, value: n, ramp: ramp === 'ramp' };
  });
}
