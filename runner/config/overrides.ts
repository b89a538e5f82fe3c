/** Errors, defaults and the flag-override shape shared by the config layer. */
import type { ApiKind, LoadSpec } from '../engine/types.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Runner defaults where neither config nor flags say anything (documented in `loadlm run --help`). */
export const runDefaults = {
  durationSeconds: 60,
  promptTokens: 256,
  outputTokens: 128,
  seed: 42,
  connectSeconds: 10,
  headersSeconds: 300,
  idleSeconds: 60,
  /** Pool size for open-loop profiles and throughput without a concurrency. */
  maxConnections: 1024,
  lateThresholdMs: 10,
  environment: 'default',
} as const;

/** Values given on the command line, already type-checked by the CLI layer. */
export interface ConfigOverrides {
  environment?: string;
  /** Run only this target of the environment. */
  targetName?: string;
  /** Field overrides applied to every selected target; with no config they define the only target. */
  target?: {
    name?: string;
    url?: string;
    model?: string;
    api?: ApiKind;
    stream?: boolean;
    maxConnections?: number;
    headers?: Record<string, string>;
    timeouts?: { connectSeconds?: number; headersSeconds?: number; idleSeconds?: number; requestSeconds?: number };
  };
  apiKeyEnv?: string;
  apiKeyFile?: string;
  labels?: { provider?: string; cluster?: string; region?: string; loadtest?: string };
  /** CRD-shaped partial sections (e.g. `{ rate: 5, durationSeconds: 60 }`). */
  load?: Record<string, unknown>;
  data?: Record<string, unknown>;
  slo?: Record<string, unknown>;
  /** Engine-only load settings with no CRD field. */
  engine?: Pick<LoadSpec, 'lateThresholdMs' | 'startAt' | 'share'>;
  /** Config path (`load.rate`) → flag (`--rate`), for error messages. */
  sources?: Record<string, string>;
}
