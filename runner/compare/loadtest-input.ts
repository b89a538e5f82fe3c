/**
 * A LoadTest as the API server returns it → comparison inputs. A LoadTest must be finished; its figures come
 * from its report (status.reportRef, normalised by the caller) or, when the report is gone, from
 * `status.summary`'s exact integers (no distributions, no steps: the input says so in its warnings).
 */
import { isFinishedPhase, type LoadTestPhase, loadTestPhases, phaseFromConditions } from '../../api/loadtest.ts';
import { unavailable } from './errors.ts';
import {
  type CompareInput,
  defaultName,
  type InputLabels,
  type InputMetrics,
  type LatencyKey,
  latencyKeys,
} from './input.ts';

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number =>
  typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;

export interface LoadTestSource {
  source: string;
  sourceShort: string;
}

/** `namespace/name` of a LoadTest object. */
export function loadTestName(lt: Obj): string {
  const meta = isObject(lt.metadata) ? lt.metadata : {};
  return `${str(meta.namespace) ?? '(no namespace)'}/${str(meta.name) ?? '(unnamed)'}`;
}

/** status.phase, else derived from the conditions as the operator does. */
export function loadTestPhase(lt: Obj): LoadTestPhase {
  const status = isObject(lt.status) ? lt.status : {};
  const phase = status.phase;
  if (typeof phase === 'string' && (loadTestPhases as readonly string[]).includes(phase)) return phase as LoadTestPhase;
  const conditions = Array.isArray(status.conditions)
    ? status.conditions.filter(isObject).map((c) => ({ type: String(c.type), status: String(c.status) }))
    : [];
  return phaseFromConditions(conditions as Parameters<typeof phaseFromConditions>[0]);
}

/** Throws (exit 3) unless the LoadTest finished: Succeeded, ThresholdsBreached or Failed. */
export function assertFinished(lt: Obj, from: LoadTestSource): LoadTestPhase {
  const phase = loadTestPhase(lt);
  if (!isFinishedPhase(phase)) {
    const name = loadTestName(lt);
    throw unavailable(
      `${from.source}: LoadTest ${name} is not finished (phase ${phase}); only finished LoadTests can be compared`,
      `Wait until its phase is Succeeded, ThresholdsBreached or Failed: kubectl get loadtest ${name.split('/')[1]} -n ${name.split('/')[0]} -w`,
    );
  }
  return phase;
}

/** spec.environment (name/provider/cluster/region) and the LoadTest's name, as input labels. */
export function loadTestLabels(lt: Obj): InputLabels {
  const spec = isObject(lt.spec) ? lt.spec : {};
  const env = isObject(spec.environment) ? spec.environment : {};
  const labels: InputLabels = { environment: str(env.name) ?? 'default' };
  const provider = str(env.provider);
  const cluster = str(env.cluster);
  const region = str(env.region);
  if (provider) labels.provider = provider;
  if (cluster) labels.cluster = cluster;
  if (region) labels.region = region;
  const name = isObject(lt.metadata) ? str(lt.metadata.name) : undefined;
  if (name) labels.loadtest = name;
  return labels;
}

/**
 * Inputs for a finished LoadTest: `fromReport` (its report, already normalised) with any label the report
 * lacks taken from the LoadTest, else the status fallback. `reportMissing` says why there is no report.
 */
export function inputsFromLoadTest(
  lt: Obj,
  fromReport: CompareInput[] | undefined,
  from: LoadTestSource,
  reportMissing = 'a LoadTest object carries no histograms',
): CompareInput[] {
  const phase = assertFinished(lt, from);
  const ltLabels = loadTestLabels(lt);
  const phaseWarning =
    phase === 'Failed' ? ['the LoadTest failed: its figures may cover part of the planned load'] : [];
  if (fromReport) {
    return fromReport.map((input) => {
      const labels = { ...ltLabels, ...input.labels };
      const renamed = input.name === defaultName(input.labels, input.sourceShort);
      const warnings = [...new Set([...input.warnings, ...phaseWarning])];
      return { ...input, labels, warnings, ...(renamed ? { name: defaultName(labels, input.sourceShort) } : {}) };
    });
  }
  const status = isObject(lt.status) ? lt.status : {};
  if (!isObject(status.summary)) {
    throw unavailable(
      `${from.source}: LoadTest ${loadTestName(lt)} (phase ${phase}) has no report (${reportMissing}) and no status.summary`,
    );
  }
  const input: CompareInput = {
    name: defaultName(ltLabels, from.sourceShort),
    source: from.source,
    sourceShort: from.sourceShort,
    kind: 'loadtest-status',
    labels: ltLabels,
    outcome: phase,
    metrics: metricsFromStatusSummary(status.summary),
    distributions: {},
    steps: [],
    warnings: [
      ...phaseWarning,
      `figures from status.summary (${reportMissing}): no distributions or sweep steps, and percentiles rounded to 1 µs`,
    ],
  };
  return [input];
}

/** status.summary (api/loadtest.ts ResultSummary) → metrics, from its exact integers and decimal strings. */
export function metricsFromStatusSummary(summary: Obj): InputMetrics {
  const latency = {} as InputMetrics['latency'];
  for (const key of latencyKeys as readonly LatencyKey[]) {
    const stats = isObject(summary[key]) ? (summary[key] as Obj) : {};
    const micros = isObject(stats.microseconds) ? stats.microseconds : {};
    const seconds = (q: string) => (typeof micros[q] === 'number' ? (micros[q] as number) / 1e6 : Number.NaN);
    latency[key] = {
      samples: typeof stats.samples === 'number' ? stats.samples : 0,
      p50: seconds('p50'),
      p95: seconds('p95'),
      p99: seconds('p99'),
    };
  }
  const requests = isObject(summary.requests) ? summary.requests : {};
  const completed = num(requests.total);
  const ok = num(requests.succeeded);
  const failed = num(requests.failed);
  const throughput = isObject(summary.throughput) ? summary.throughput : {};
  const goodput = isObject(summary.goodput) ? summary.goodput : undefined;
  const ratioOf = (n: number) => (completed > 0 ? n / completed : Number.NaN);
  return {
    latency,
    requests: {
      completed: Number.isFinite(completed) ? completed : 0,
      ok: Number.isFinite(ok) ? ok : 0,
      failed: Number.isFinite(failed) ? failed : 0,
    },
    windowSeconds: num(summary.measuredSeconds),
    requestsPerSecond: num(throughput.requestsPerSecond),
    outputTokensPerSecond: num(throughput.outputTokensPerSecond),
    errorRatio: ratioOf(failed),
    goodput: goodput
      ? {
          good: num(goodput.requests),
          perSecond: num(goodput.requestsPerSecond),
          ratio: ratioOf(num(goodput.requests)),
        }
      : null,
  };
}
