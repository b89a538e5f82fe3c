/**
 * The operator's configuration: flags win over environment variables, which win over defaults. Every error
 * names the flag and its environment variable and says what was expected.
 */
import { parseArgs } from 'node:util';

export interface OperatorConfig {
  /** Namespaces to watch; empty: all. */
  namespaces: string[];
  /** The runner image used when a LoadTest does not set spec.runner.image. */
  runnerImage: string;
  /** Lease namespace; `false`: no leader election (a single replica, or tests). */
  leaderElectionNamespace: string | false;
  leaderElectionName: string;
  /** /healthz, /readyz and /metrics; 0 picks a free port. */
  httpPort: number;
  httpHost: string;
  logLevel: string;
  maxConcurrentReconciles: number;
  /** How often a running LoadTest's progress is refreshed. */
  progressIntervalMs: number;
  /** Runner --linger (seconds /metrics stays up after the run); tests shorten it. */
  runnerLingerSeconds: number | undefined;
  /** Controllers to run; default all (`controllerNames`). */
  controllers?: ControllerName[];
}

export const controllerNames = ['loadtest', 'observabilitystack'] as const;
export type ControllerName = (typeof controllerNames)[number];

export const defaultRunnerImage = 'ghcr.io/loadlm/loadlm:0.1.0';

interface Option {
  flag: string;
  env: string;
  default: string;
  description: string;
}

const options = {
  namespaces: {
    flag: 'namespaces',
    env: 'LOADLM_NAMESPACES',
    default: '',
    description: 'comma-separated namespaces to watch (empty: all)',
  },
  runnerImage: {
    flag: 'runner-image',
    env: 'LOADLM_RUNNER_IMAGE',
    default: defaultRunnerImage,
    description: 'default runner image',
  },
  leaderElectionNamespace: {
    flag: 'leader-election-namespace',
    env: 'LOADLM_LEADER_ELECTION_NAMESPACE',
    default: 'loadlm-system',
    description: 'namespace of the leader election Lease; "" turns leader election off',
  },
  leaderElectionName: {
    flag: 'leader-election-name',
    env: 'LOADLM_LEADER_ELECTION_NAME',
    default: 'loadlm-operator',
    description: 'name of the leader election Lease',
  },
  httpPort: {
    flag: 'http-port',
    env: 'LOADLM_HTTP_PORT',
    default: '8080',
    description: 'port of /healthz, /readyz and /metrics (0: any free port)',
  },
  httpHost: { flag: 'http-host', env: 'LOADLM_HTTP_HOST', default: '0.0.0.0', description: 'address to listen on' },
  logLevel: {
    flag: 'log-level',
    env: 'LOADLM_LOG_LEVEL',
    default: 'info',
    description: 'trace, debug, info, warn, error or fatal',
  },
  maxConcurrentReconciles: {
    flag: 'max-concurrent-reconciles',
    env: 'LOADLM_MAX_CONCURRENT_RECONCILES',
    default: '4',
    description: 'LoadTest reconcile workers',
  },
  progressInterval: {
    flag: 'progress-interval',
    env: 'LOADLM_PROGRESS_INTERVAL',
    default: '10s',
    description: 'how often running LoadTests get status.progress updates',
  },
  controllers: {
    flag: 'controllers',
    env: 'LOADLM_CONTROLLERS',
    default: controllerNames.join(','),
    description: 'comma-separated controllers to run (loadtest, observabilitystack)',
  },
  runnerLinger: {
    flag: 'runner-linger',
    env: 'LOADLM_RUNNER_LINGER',
    default: '',
    description: 'how long runner /metrics stays up after the run (default: the runner default)',
  },
} as const satisfies Record<string, Option>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function usage(): string {
  const lines = Object.values(options).map(
    (option) =>
      `  --${option.flag} (env ${option.env})${option.default ? ` [${option.default}]` : ''}: ${option.description}`,
  );
  return `usage: loadlm-operator [options]\n${lines.join('\n')}\n  --help: this text`;
}

/** Parses flags and environment; throws ConfigError naming the flag and env var on bad input. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): OperatorConfig | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(Object.values(options).map((option) => [option.flag, { type: 'string' as const }])),
      },
    }));
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n${usage()}`);
  }
  if (values.help) return 'help';
  const raw = (option: Option): string => {
    const flag = values[option.flag];
    if (typeof flag === 'string') return flag;
    return env[option.env] ?? option.default;
  };
  const where = (option: Option) => `--${option.flag} (env ${option.env})`;
  const integer = (option: Option, min: number, max: number): number => {
    const text = raw(option).trim();
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      throw new ConfigError(`${where(option)}: expected an integer from ${min} to ${max}, got "${text}"`);
    }
    return value;
  };
  const duration = (option: Option): number | undefined => {
    const text = raw(option).trim();
    if (text === '') return undefined;
    const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
    if (!match) throw new ConfigError(`${where(option)}: expected a duration like 500ms, 10s or 1m, got "${text}"`);
    const factor = match[2] === 'ms' ? 1 : match[2] === 'm' ? 60_000 : 1_000;
    return Number(match[1]) * factor;
  };

  const namespaces = raw(options.namespaces)
    .split(',')
    .map((namespace) => namespace.trim())
    .filter(Boolean);
  for (const namespace of namespaces) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63) {
      throw new ConfigError(`${where(options.namespaces)}: "${namespace}" is not a valid namespace name`);
    }
  }
  const runnerImage = raw(options.runnerImage).trim();
  if (!runnerImage) throw new ConfigError(`${where(options.runnerImage)}: expected an image reference, got ""`);
  const leaseNamespace = raw(options.leaderElectionNamespace).trim();
  const logLevel = raw(options.logLevel).trim();
  const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
  if (!levels.includes(logLevel)) {
    throw new ConfigError(`${where(options.logLevel)}: expected one of ${levels.join(', ')}, got "${logLevel}"`);
  }
  const progressIntervalMs = duration(options.progressInterval) ?? 10_000;
  if (progressIntervalMs < 100) {
    throw new ConfigError(`${where(options.progressInterval)}: expected at least 100ms`);
  }
  const lingerMs = duration(options.runnerLinger);
  const controllers = raw(options.controllers)
    .split(',')
    .map((controller) => controller.trim())
    .filter(Boolean);
  for (const controller of controllers) {
    if (!(controllerNames as readonly string[]).includes(controller)) {
      throw new ConfigError(
        `${where(options.controllers)}: unknown controller "${controller}", expected some of ${controllerNames.join(', ')}`,
      );
    }
  }
  if (controllers.length === 0) {
    throw new ConfigError(`${where(options.controllers)}: expected at least one of ${controllerNames.join(', ')}`);
  }
  return {
    namespaces,
    runnerImage,
    leaderElectionNamespace: leaseNamespace === '' ? false : leaseNamespace,
    leaderElectionName: raw(options.leaderElectionName).trim() || 'loadlm-operator',
    httpPort: integer(options.httpPort, 0, 65535),
    httpHost: raw(options.httpHost).trim() || '0.0.0.0',
    logLevel,
    maxConcurrentReconciles: integer(options.maxConcurrentReconciles, 1, 64),
    progressIntervalMs,
    runnerLingerSeconds: lingerMs === undefined ? undefined : Math.ceil(lingerMs / 1000),
    controllers: [...new Set(controllers)] as ControllerName[],
  };
}
