/**
 * A parsed document → comparison inputs. Recognises the runner's report, the operator's report, the report
 * ConfigMap around either, and a LoadTest (status fallback, see loadtest-input.ts). Anything else is refused
 * with the file named and what was expected.
 */
import { MergeError, RunStats, SnapshotError } from '../stats/index.ts';
import { decodeBinaryData, decodeDocument } from './decode.ts';
import { badInput } from './errors.ts';
import {
  type CompareInput,
  defaultName,
  distributionsOf,
  type InputKind,
  type InputLabels,
  metricsFromStats,
  type SweepPoint,
} from './input.ts';
import { inputsFromLoadTest } from './loadtest-input.ts';

export const reportApiVersion = 'loadlm.dev/v1alpha1';
export const reportKind = 'LoadTestReport';
export const reportDataKey = 'report.json';
export const reportGzipKey = 'report.json.gz';

export interface SourceInfo {
  /** Full description for messages: the path, or `context X: LoadTest ns/name`. */
  source: string;
  /** Short form for column titles. */
  sourceShort: string;
}

export interface NormaliseOptions {
  /** One input per target of a report instead of one per report. */
  perTarget: boolean;
}

const expected =
  `expected a loadlm report (apiVersion ${reportApiVersion}, kind ${reportKind}: the file of ` +
  "'loadlm run --report', or the report.json of a LoadTest's <name>-report ConfigMap), that ConfigMap as " +
  "'kubectl get cm -o json|yaml' prints it, or a LoadTest";

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function describeValue(doc: unknown): string {
  if (Array.isArray(doc)) return 'a JSON array';
  if (!isObject(doc)) return `a ${doc === null ? 'null' : typeof doc} value`;
  const kind = str(doc.kind);
  const apiVersion = str(doc.apiVersion);
  if (kind || apiVersion)
    return `kind ${JSON.stringify(kind ?? null)}, apiVersion ${JSON.stringify(apiVersion ?? null)}`;
  const keys = Object.keys(doc).slice(0, 6);
  return keys.length > 0 ? `an object with keys ${keys.join(', ')}` : 'an empty object';
}

export function inputsFromDocument(doc: unknown, from: SourceInfo, options: NormaliseOptions): CompareInput[] {
  if (!isObject(doc)) throw badInput(`${from.source}: not a loadlm report: ${expected}; got ${describeValue(doc)}`);
  switch (doc.kind) {
    case reportKind:
      return inputsFromReport(doc, from, options);
    case 'ConfigMap':
      return inputsFromDocument(reportOfConfigMap(doc, from), from, options);
    case 'LoadTest':
      if (str(doc.apiVersion) === reportApiVersion) return inputsFromLoadTest(doc, undefined, from);
      break;
    case 'RunnerResult':
      throw badInput(
        `${from.source}: is a runner's partial result (kind RunnerResult, from --result-file), not a report; ${expected}`,
        "Write the report with 'loadlm run --report FILE'.",
      );
  }
  throw badInput(`${from.source}: not a loadlm report: ${expected}; got ${describeValue(doc)}`);
}

/** The report a `<lt>-report` ConfigMap holds (plain under data, or gzipped under binaryData). */
export function reportOfConfigMap(cm: Obj, from: SourceInfo): unknown {
  const name = isObject(cm.metadata) ? str(cm.metadata.name) : undefined;
  const data = isObject(cm.data) ? cm.data : {};
  const binary = isObject(cm.binaryData) ? cm.binaryData : {};
  const where = `${from.source}: ConfigMap ${name ?? '(unnamed)'}`;
  const plain = data[reportDataKey];
  if (typeof plain === 'string') return decodeDocument(Buffer.from(plain, 'utf8'), `${where} key ${reportDataKey}`);
  const gz = binary[reportGzipKey];
  if (typeof gz === 'string') return decodeBinaryData(gz, `${where} key ${reportGzipKey}`);
  const keys = [...Object.keys(data), ...Object.keys(binary)];
  throw badInput(
    `${where} holds no loadlm report: expected key ${reportDataKey} in data or ${reportGzipKey} in binaryData ` +
      `(as in a LoadTest's <name>-report ConfigMap); it has ${keys.length > 0 ? `keys ${keys.join(', ')}` : 'no keys'}`,
  );
}

function stats(value: unknown, from: SourceInfo, field: string): RunStats {
  try {
    return RunStats.fromJSON(value, field);
  } catch (error) {
    if (!(error instanceof SnapshotError)) throw error;
    const issues = error.issues.slice(0, 4).join('; ');
    const more = error.issues.length > 4 ? ` (and ${error.issues.length - 4} more)` : '';
    throw badInput(`${from.source}: the report's statistics are invalid: ${issues}${more}`);
  }
}

function labelsOf(value: unknown): InputLabels {
  const labels: InputLabels = {};
  if (!isObject(value)) return labels;
  for (const key of ['environment', 'provider', 'cluster', 'region', 'loadtest'] as const) {
    const v = str(value[key]);
    if (v !== undefined) labels[key] = v;
  }
  return labels;
}

interface ReportTarget {
  name: string;
  stats: RunStats;
  steps: SweepPoint[];
  stepStats: RunStats[];
  /** What the reader should know about the steps (left out by the operator, run by fewer runners). */
  stepWarnings: string[];
}

/** Warnings about a target's steps from the operator's report: `stepsOmitted`, and steps fewer runners ran. */
function stepWarningsOf(t: Obj, name: string): string[] {
  const warnings: string[] = [];
  const omitted = str(t.stepsOmitted);
  if (omitted) warnings.push(`${name}: no sweep steps in the report (${omitted})`);
  if (!Array.isArray(t.steps)) return warnings;
  const runners = t.steps.map((s: unknown) => (isObject(s) && typeof s.runners === 'number' ? s.runners : undefined));
  const most = Math.max(0, ...runners.filter((n): n is number => n !== undefined));
  const fewer = t.steps.flatMap((s: unknown, j) => {
    const n = runners[j];
    const label = (isObject(s) ? str(s.label) : undefined) ?? `step ${j + 1}`;
    return n !== undefined && n < most ? [`${label} (${n} of ${most} runners)`] : [];
  });
  if (fewer.length > 0) {
    warnings.push(
      `${name}: some runners stopped their sweep earlier than others, so these steps got less load: ` +
        fewer.join(', '),
    );
  }
  return warnings;
}

function readTargets(doc: Obj, from: SourceInfo): ReportTarget[] {
  if (!Array.isArray(doc.targets)) return [];
  return doc.targets.map((t: unknown, i) => {
    const where = `targets[${i}]`;
    if (!isObject(t)) throw badInput(`${from.source}: ${where}: expected an object`);
    const steps: SweepPoint[] = [];
    const stepStats: RunStats[] = [];
    if (Array.isArray(t.steps)) {
      t.steps.forEach((s: unknown, j) => {
        if (!isObject(s)) throw badInput(`${from.source}: ${where}.steps[${j}]: expected an object`);
        const st = stats(s.stats, from, `${where}.steps[${j}].stats`);
        const point: SweepPoint = {
          step: typeof s.step === 'number' ? s.step : j,
          label: str(s.label) ?? `step ${j + 1}`,
          metrics: metricsFromStats(st),
        };
        if (typeof s.targetRate === 'number') point.targetRate = s.targetRate;
        steps.push(point);
        stepStats.push(st);
      });
    }
    const name = str(t.name) ?? `target ${i + 1}`;
    return {
      name,
      stats: stats(t.stats, from, `${where}.stats`),
      steps,
      stepStats,
      stepWarnings: stepWarningsOf(t, name),
    };
  });
}

/** Steps of all targets merged step by step, when the targets ran the same steps. */
function mergedSteps(targets: ReportTarget[], warnings: string[]): SweepPoint[] {
  const first = targets[0];
  if (!first || first.steps.length < 2) return [];
  if (targets.length === 1) return first.steps;
  const sameSteps = targets.every(
    (t) => t.steps.length === first.steps.length && t.steps.every((s, i) => s.step === first.steps[i]?.step),
  );
  if (!sameSteps) {
    warnings.push('targets ran different steps: no sweep plot (use --per-target to plot each target)');
    return [];
  }
  try {
    return first.steps.map((s, i) => ({
      ...s,
      metrics: metricsFromStats(RunStats.merged(targets.map((t) => t.stepStats[i] as RunStats))),
    }));
  } catch (error) {
    if (!(error instanceof MergeError)) throw error;
    warnings.push(`steps cannot be merged across targets (${error.message}): no sweep plot`);
    return [];
  }
}

function inputsFromReport(doc: Obj, from: SourceInfo, options: NormaliseOptions): CompareInput[] {
  if (doc.apiVersion !== reportApiVersion) {
    throw badInput(
      `${from.source}: unsupported apiVersion ${JSON.stringify(doc.apiVersion ?? null)} (expected ${reportApiVersion})`,
    );
  }
  if (doc.schemaVersion !== 1) {
    throw badInput(
      `${from.source}: unsupported report schemaVersion ${JSON.stringify(doc.schemaVersion ?? null)} (this loadlm reads 1)`,
    );
  }
  const metadata = isObject(doc.metadata) ? doc.metadata : {};
  const kind: InputKind = metadata.generatedBy === 'loadlm-operator' ? 'operator-report' : 'runner-report';
  const labels = labelsOf(doc.labels);
  const loadTest = isObject(metadata.loadTest) ? metadata.loadTest : undefined;
  if (!labels.loadtest && loadTest) {
    const name = str(loadTest.name);
    if (name) labels.loadtest = name;
  }
  const outcome = isObject(doc.outcome) ? (str(doc.outcome.status) ?? str(doc.outcome.reason)) : undefined;
  const warnings: string[] = [];
  if (outcome === 'failed' || outcome === 'interrupted' || outcome === 'Failed') {
    warnings.push(`the run ended ${outcome}: its figures may cover part of the planned load`);
  }
  if (Array.isArray(doc.problems) && doc.problems.length > 0) {
    const first = isObject(doc.problems[0]) ? str(doc.problems[0].message) : undefined;
    warnings.push(`${doc.problems.length} runner result(s) missing or invalid${first ? `, e.g. ${first}` : ''}`);
  }
  const targets = readTargets(doc, from);
  const base = (name: string, st: RunStats, steps: SweepPoint[], extra: InputLabels, more: string[]) => {
    const inputLabels = { ...labels, ...extra };
    const input: CompareInput = {
      name: defaultName(inputLabels, from.sourceShort),
      source: from.source,
      sourceShort: from.sourceShort,
      kind,
      labels: inputLabels,
      metrics: metricsFromStats(st),
      distributions: distributionsOf(st),
      steps: steps.length >= 2 ? steps : [],
      warnings: [...warnings, ...more],
    };
    if (outcome) input.outcome = outcome;
    if (st.goodputLimits) input.goodputLimits = st.goodputLimits;
    if (input.metrics.requests.completed === 0) input.warnings.push(`${name}: no request was measured`);
    return input;
  };
  if (options.perTarget && targets.length > 0) {
    return targets.map((t) => base(t.name, t.stats, t.steps, { target: t.name }, t.stepWarnings));
  }
  const stepWarnings = targets.flatMap((t) => t.stepWarnings);
  const steps = mergedSteps(targets, stepWarnings);
  return [base('the run', stats(doc.stats, from, 'stats'), steps, {}, stepWarnings)];
}
