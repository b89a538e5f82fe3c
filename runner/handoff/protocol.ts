/**
 * The runner ↔ operator contract through the Kubernetes API (never logs, never volumes): the labels every
 * runner object carries, the result ConfigMap a runner writes (`<loadtest>-result-<index>`) and the start
 * signal ConfigMap the operator writes (`<loadtest>-start`). Both sides import this file, so they cannot
 * disagree on a key. Object names are decided by the operator (operator/loadtest/desired/names.ts) and
 * handed to the runner in flags.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { type RunnerResult, serializeResult } from '../report/result-sink.ts';

/** Field manager of the runner's server-side applies (the operator's is `loadlm-operator`). */
export const runnerFieldManager = 'loadlm-runner';

/**
 * Environment variables the runner Job sets for the hand-off (values from the downward API or literals). Here,
 * not in index.ts, so the operator does not load client-node (index.ts's kube-api.ts) just for these names.
 */
export const handoffEnv = {
  namespace: 'LOADLM_NAMESPACE',
  podName: 'LOADLM_POD_NAME',
  loadTestName: 'LOADLM_LOADTEST_NAME',
  loadTestUid: 'LOADLM_LOADTEST_UID',
  /** Set by the Job controller (and by the operator's template, so it can be used in other variables). */
  runnerIndex: 'JOB_COMPLETION_INDEX',
} as const;

export const labelKeys = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
  /** The owning LoadTest's name, on every object made for it. */
  loadTest: 'loadlm.dev/loadtest',
  /** "true" on runner result ConfigMaps. */
  result: 'loadlm.dev/result',
  /** The runner's index in the runner Job (JOB_COMPLETION_INDEX), on result ConfigMaps. */
  runnerIndex: 'loadlm.dev/runner-index',
  /** "true" on Services that ObservabilityStack's ServiceMonitor scrapes. */
  metrics: 'loadlm.dev/metrics',
} as const;

/** Runner objects are deleted by the cleanup policy; the report stays with the LoadTest. */
export type Component = 'runner' | 'report';

/** The labels of every object the operator makes for one LoadTest. */
export function loadTestLabels(loadTest: string, component: Component): Record<string, string> {
  return {
    [labelKeys.name]: 'loadlm',
    [labelKeys.instance]: loadTest,
    [labelKeys.component]: component,
    [labelKeys.partOf]: 'loadlm',
    [labelKeys.managedBy]: 'loadlm-operator',
    [labelKeys.loadTest]: loadTest,
  };
}

/** Labels of runner `index`'s result ConfigMap (the operator pre-creates it with the same ones). */
export function resultLabels(loadTest: string, index: number): Record<string, string> {
  return { ...loadTestLabels(loadTest, 'runner'), [labelKeys.result]: 'true', [labelKeys.runnerIndex]: String(index) };
}

// ----------------------------------------------------------------------------------------- ConfigMap shapes

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** A ConfigMap as JSON on the wire. */
export interface ConfigMapObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
  };
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** The LoadTest a runner works for; its uid makes the result ConfigMap garbage-collected with it. */
export interface LoadTestIdentity {
  name: string;
  uid: string;
}

export const loadTestApiVersion = 'loadlm.dev/v1alpha1';

/**
 * The ownerReference a runner puts on its result ConfigMap: exactly the operator's (controller, and
 * blockOwnerDeletion). Server-side apply treats each ownerReferences item as atomic, so an item that differed in
 * any field would be taken over by the runner's forced apply and lose the operator's values. Setting
 * blockOwnerDeletion needs no extra permission here: the item already exists on the pre-created placeholder.
 */
export function runnerOwnerReference(loadTest: LoadTestIdentity): OwnerReference {
  return {
    apiVersion: loadTestApiVersion,
    kind: 'LoadTest',
    name: loadTest.name,
    uid: loadTest.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

// ----------------------------------------------------------------------------------------- result ConfigMap

/** Where a runner is: at the start barrier (no result yet), sending load (partial results), or done. */
export const runnerPhases = ['Ready', 'Running', 'Finished'] as const;
export type RunnerPhase = (typeof runnerPhases)[number];

export const resultKeys = {
  phase: 'phase',
  pod: 'pod',
  updatedAt: 'updatedAt',
  /** The RunnerResult as JSON (data). */
  json: 'result.json',
  /** The same, gzipped (binaryData), when the JSON would not fit. */
  gzip: 'result.json.gz',
} as const;

/** A ConfigMap holds at most 1 MiB of data; keep room for metadata and the small keys. */
export const maxConfigMapDataBytes = 1_048_576;
export const inlineResultLimitBytes = 900 * 1024;

export class ResultTooLargeError extends Error {
  constructor(bytes: number, gzipBytes: number) {
    super(
      `the runner result is ${bytes} bytes of JSON (${gzipBytes} gzipped and base64-encoded): more than a ConfigMap ` +
        `holds (${maxConfigMapDataBytes} bytes)`,
    );
    this.name = 'ResultTooLargeError';
  }
}

/** `data`/`binaryData` of a result ConfigMap: JSON inline, or gzipped when it would not fit. */
export function encodeResult(result: RunnerResult): {
  data: Record<string, string>;
  binaryData?: Record<string, string>;
  encodedBytes: number;
} {
  const json = serializeResult(result);
  const bytes = Buffer.byteLength(json);
  if (bytes <= inlineResultLimitBytes) return { data: { [resultKeys.json]: json }, encodedBytes: bytes };
  const gzip = gzipSync(json).toString('base64');
  if (gzip.length > inlineResultLimitBytes) throw new ResultTooLargeError(bytes, gzip.length);
  return { data: {}, binaryData: { [resultKeys.gzip]: gzip }, encodedBytes: gzip.length };
}

export interface ResultConfigMapInput {
  name: string;
  namespace: string;
  loadTest: LoadTestIdentity;
  index: number;
  pod?: string;
  phase: RunnerPhase;
  result?: RunnerResult;
  now?: Date;
}

/**
 * The whole result ConfigMap as the runner applies it. Labels and ownerReference equal the operator's
 * pre-created placeholder, so the two field managers share those fields without conflict; the runner alone
 * owns `data`/`binaryData`, and a key missing from a later apply (inline → gzip) is removed by the apiserver.
 */
export function resultConfigMap(input: ResultConfigMapInput): ConfigMapObject {
  const encoded = input.result ? encodeResult(input.result) : undefined;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels: resultLabels(input.loadTest.name, input.index),
      ownerReferences: [runnerOwnerReference(input.loadTest)],
    },
    data: {
      [resultKeys.phase]: input.phase,
      [resultKeys.updatedAt]: (input.now ?? new Date()).toISOString(),
      ...(input.pod ? { [resultKeys.pod]: input.pod } : {}),
      ...encoded?.data,
    },
    ...(encoded?.binaryData ? { binaryData: encoded.binaryData } : {}),
  };
}

/** What the operator reads back from one result ConfigMap. `payload` is untrusted: validate before use. */
export interface DecodedResult {
  name: string;
  /** From the runner-index label (absent on a foreign or damaged object). */
  index?: number;
  phase?: RunnerPhase;
  pod?: string;
  updatedAt?: string;
  /** The parsed RunnerResult JSON, when one was written. */
  payload?: unknown;
  /** Why the payload could not be read (bad JSON, bad gzip, unknown phase). */
  error?: string;
}

export function decodeResultConfigMap(configMap: ConfigMapObject): DecodedResult {
  const name = configMap.metadata.name;
  const out: DecodedResult = { name };
  const indexText = configMap.metadata.labels?.[labelKeys.runnerIndex];
  if (indexText !== undefined && /^(0|[1-9]\d{0,5})$/.test(indexText)) out.index = Number(indexText);
  const data = configMap.data ?? {};
  const phase = data[resultKeys.phase];
  if (phase !== undefined) {
    if ((runnerPhases as readonly string[]).includes(phase)) out.phase = phase as RunnerPhase;
    else out.error = `${resultKeys.phase}: unknown phase "${phase.slice(0, 40)}" (expected ${runnerPhases.join(', ')})`;
  }
  if (data[resultKeys.pod] !== undefined) out.pod = data[resultKeys.pod];
  if (data[resultKeys.updatedAt] !== undefined) out.updatedAt = data[resultKeys.updatedAt];
  const inline = data[resultKeys.json];
  const gzip = configMap.binaryData?.[resultKeys.gzip];
  try {
    if (inline !== undefined) {
      out.payload = parseJson(inline, resultKeys.json);
    } else if (gzip !== undefined) {
      let text: string;
      try {
        text = gunzipSync(Buffer.from(gzip, 'base64')).toString('utf8');
      } catch (error) {
        throw new Error(`${resultKeys.gzip}: not gzip data (${(error as Error).message})`);
      }
      out.payload = parseJson(text, resultKeys.gzip);
    }
  } catch (error) {
    out.error = (error as Error).message;
  }
  return out;
}

function parseJson(text: string, key: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${key}: not valid JSON (${(error as Error).message})`);
  }
}

// ------------------------------------------------------------------------------------------- start signal

export const startKeys = {
  phase: 'phase',
  /** RFC 3339 with milliseconds: the common start time. */
  startAt: 'startAt',
  reason: 'reason',
  message: 'message',
} as const;

export type StartSignal =
  | { kind: 'start'; startAtMs: number }
  | { kind: 'abort'; reason: string; message: string }
  | { kind: 'invalid'; problem: string };

/** The start signal's data: `Start` with the agreed time, or `Abort` (the test failed before the start). */
export function startSignalData(
  signal: { kind: 'start'; startAtMs: number } | { kind: 'abort'; reason: string; message: string },
): Record<string, string> {
  if (signal.kind === 'start') {
    return { [startKeys.phase]: 'Start', [startKeys.startAt]: new Date(signal.startAtMs).toISOString() };
  }
  return { [startKeys.phase]: 'Abort', [startKeys.reason]: signal.reason, [startKeys.message]: signal.message };
}

/** Reads a start signal ConfigMap; undefined when it carries no decision yet (no phase). */
export function parseStartSignal(configMap: Pick<ConfigMapObject, 'data'>): StartSignal | undefined {
  const data = configMap.data ?? {};
  const phase = data[startKeys.phase];
  if (phase === undefined) return undefined;
  if (phase === 'Abort') {
    return {
      kind: 'abort',
      reason: data[startKeys.reason] || 'Aborted',
      message: data[startKeys.message] || 'the operator aborted the test before the start',
    };
  }
  if (phase !== 'Start') return { kind: 'invalid', problem: `phase: unknown value "${phase.slice(0, 40)}"` };
  const text = data[startKeys.startAt];
  const startAtMs = text === undefined ? Number.NaN : Date.parse(text);
  if (!Number.isFinite(startAtMs)) {
    return { kind: 'invalid', problem: `startAt: expected an RFC 3339 time, got ${JSON.stringify(text ?? null)}` };
  }
  return { kind: 'start', startAtMs };
}
