/** The fully resolved run: what the modes hand to the engine, metrics and reports. */
import type { DataSpec, LoadSpec, TargetSpec } from '../engine/types.ts';

export interface EnvironmentLabelValues {
  environment: string;
  provider?: string;
  cluster?: string;
  region?: string;
  /** LoadTest name, when run by the operator or given with --loadtest. */
  loadtest?: string;
}

export interface PlannedTarget {
  name: string;
  spec: TargetSpec;
}

/** SLO thresholds as plain numbers (milliseconds, percent, per second). */
export interface SloSpec {
  ttftP95Ms?: number;
  ttftP99Ms?: number;
  tpotP95Ms?: number;
  tpotP99Ms?: number;
  itlP95Ms?: number;
  e2eP95Ms?: number;
  e2eP99Ms?: number;
  maxErrorRatePercent?: number;
  minRequestsPerSecond?: number;
  minOutputTokensPerSecond?: number;
  minGoodputPercent?: number;
  /** Per-request limits defining a good request (DistServe goodput). */
  goodput?: { ttftMs?: number; tpotMs?: number; e2eMs?: number };
}

export interface RunPlan {
  labels: EnvironmentLabelValues;
  targets: PlannedTarget[];
  load: LoadSpec;
  data: DataSpec;
  slo: SloSpec;
  /** The validated config with secrets removed, for the report. */
  effectiveConfig: Record<string, unknown>;
}
