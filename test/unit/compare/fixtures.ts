/**
 * Reports built from real RunStats, in the runner's and the operator's report shapes (only the fields
 * `loadlm compare` reads, plus the envelope), so normalisation and rendering are tested on genuine histograms.
 */
import type { RequestResult } from '../../../runner/engine/types.ts';
import { RunStats, type RunStatsOptions } from '../../../runner/stats/index.ts';

export interface Profile {
  ttftMs: number;
  itlMs: number;
  outputTokens: number;
  requests: number;
  failed?: number;
  windowSeconds: number;
  /** Spread of the latencies, as a fraction (deterministic, evenly spaced). */
  spread?: number;
}

export function request(ttftSeconds: number, itlSeconds: number, outputTokens: number): RequestResult {
  const gaps = Array.from({ length: outputTokens - 1 }, () => itlSeconds);
  const e2e = ttftSeconds + itlSeconds * (outputTokens - 1);
  return {
    phase: 'measure',
    ok: true,
    late: false,
    httpStatus: 200,
    dispatchLagSeconds: 0.0001,
    ttftSeconds,
    tpotSeconds: itlSeconds,
    e2eSeconds: e2e,
    itlSeconds: gaps,
    promptTokens: 32,
    outputTokens,
  } as unknown as RequestResult;
}

export function statsFor(p: Profile, options: RunStatsOptions = {}, startMs = Date.UTC(2026, 0, 1)): RunStats {
  const stats = new RunStats(options);
  const spread = p.spread ?? 0.2;
  for (let i = 0; i < p.requests; i++) {
    const f = 1 + spread * (i / Math.max(1, p.requests - 1) - 0.5);
    stats.addResult(request((p.ttftMs / 1000) * f, (p.itlMs / 1000) * f, p.outputTokens));
  }
  for (let i = 0; i < (p.failed ?? 0); i++) {
    stats.addResult({
      phase: 'measure',
      ok: false,
      late: false,
      httpStatus: 503,
      errorClass: 'http',
      dispatchLagSeconds: 0.0001,
      itlSeconds: [],
    } as unknown as RequestResult);
  }
  stats.observeWindow(startMs, startMs + p.windowSeconds * 1000);
  return stats;
}

export interface ReportOptions {
  labels?: Record<string, string>;
  targets?: Array<{
    name: string;
    profile: Profile;
    steps?: Array<{ label: string; targetRate?: number; profile: Profile }>;
  }>;
  goodput?: RunStatsOptions['goodput'];
  status?: string;
}

/** A runner report (`loadlm run --report`) with the given targets and steps. */
export function runnerReport(o: ReportOptions): Record<string, unknown> {
  const options: RunStatsOptions = o.goodput ? { goodput: o.goodput } : {};
  const targets = (
    o.targets ?? [{ name: 'm', profile: { ttftMs: 50, itlMs: 5, outputTokens: 16, requests: 40, windowSeconds: 4 } }]
  ).map((t) => {
    const stats = statsFor(t.profile, options);
    return {
      name: t.name,
      model: 'm',
      api: 'chat',
      stream: true,
      url: 'http://127.0.0.1:1/v1',
      errorSamples: {},
      thresholds: [],
      summary: {},
      stats,
      steps: (t.steps ?? []).map((s, i) => ({
        step: i,
        label: s.label,
        profile: 'constant',
        ...(s.targetRate !== undefined ? { targetRate: s.targetRate } : {}),
        summary: {},
        stats: statsFor(s.profile, options).toJSON(),
      })),
    };
  });
  const merged = RunStats.merged(targets.map((t) => t.stats));
  return {
    apiVersion: 'loadlm.dev/v1alpha1',
    kind: 'LoadTestReport',
    schemaVersion: 1,
    metadata: { runner: { name: 'loadlm', version: '0.1.0', host: 'h', pid: 1 }, startedAt: '', endedAt: '' },
    labels: { environment: 'default', ...o.labels },
    config: {},
    outcome: { status: o.status ?? 'success', exitCode: 0, messages: [] },
    summary: {},
    slo: null,
    targets: targets.map((t) => ({ ...t, stats: t.stats.toJSON() })),
    stats: merged.toJSON(),
  };
}

/** The operator's report (the `<lt>-report` ConfigMap's report.json). */
export function operatorReport(o: ReportOptions & { loadTest?: string }): Record<string, unknown> {
  const r = runnerReport(o);
  return {
    ...r,
    metadata: {
      loadTest: { namespace: 'bench', name: o.loadTest ?? 'nightly', uid: 'u' },
      generatedBy: 'loadlm-operator',
      generatedAt: '2026-01-01T00:00:00Z',
      runners: 1,
    },
    labels: { environment: 'default', loadtest: o.loadTest ?? 'nightly', ...o.labels },
    outcome: { reason: o.status ?? 'Succeeded', message: '' },
    targets: (r.targets as Array<Record<string, unknown>>).map((t) => ({
      name: t.name,
      model: t.model,
      summary: {},
      stats: t.stats,
    })),
    runners: [],
    problems: [],
  };
}
