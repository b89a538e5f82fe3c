/**
 * Shared by the unit tests (zod) and the integration tests (real apiserver): the example manifests, and a
 * table of invalid manifests, each with the field its error must name.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const repoRoot = join(import.meta.dirname, '..', '..', '..');
export const examplesDir = join(repoRoot, 'examples');

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; generateName?: string; [key: string]: unknown };
  spec: Record<string, unknown>;
  [key: string]: unknown;
}

export interface ExampleDocument {
  file: string;
  index: number;
  manifest: Manifest;
}

/** Every document of every `examples/*.yaml`. */
export function loadExamples(): ExampleDocument[] {
  const out: ExampleDocument[] = [];
  for (const file of readdirSync(examplesDir)
    .filter((name) => name.endsWith('.yaml'))
    .sort()) {
    const documents = parseAllDocuments(readFileSync(join(examplesDir, file), 'utf8'));
    documents.forEach((document, index) => {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`);
      const manifest = document.toJS() as Manifest | null;
      if (manifest) out.push({ file, index, manifest });
    });
  }
  return out;
}

function loadOne(file: string): Manifest {
  const found = loadExamples().find((example) => example.file === file);
  if (!found) throw new Error(`examples/${file} is missing`);
  return found.manifest;
}

/** A fresh deep copy of the quickstart LoadTest. */
export function baseLoadTest(): Manifest {
  return structuredClone(loadOne('quickstart.yaml'));
}

/** A fresh deep copy of the development ObservabilityStack. */
export function baseObservabilityStack(): Manifest {
  return structuredClone(loadOne('observabilitystack-development.yaml'));
}

export interface InvalidCase {
  name: string;
  build: () => Manifest;
  /** The field the error must name, in apiserver notation: `spec.targets[0].url`. */
  field: string;
  /** Text the apiserver's message must contain besides the field (a CEL message, typically). */
  apiserverMessage?: RegExp;
  /** Unknown fields are rejected only with strict field validation (kubectl --validate=strict). */
  strictOnly?: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: the cases reach into manifests of any shape to break them
type Spec = Record<string, any>;

function loadTest(mutate: (spec: Spec, manifest: Manifest) => void): () => Manifest {
  return () => {
    const manifest = baseLoadTest();
    mutate(manifest.spec as Spec, manifest);
    return manifest;
  };
}

function observabilityStack(mutate: (spec: Spec) => void): () => Manifest {
  return () => {
    const manifest = baseObservabilityStack();
    mutate(manifest.spec as Spec);
    return manifest;
  };
}

export const invalidCases: InvalidCase[] = [
  {
    name: 'a negative rate',
    build: loadTest((spec) => {
      spec.load.rate = -5;
    }),
    field: 'spec.load.rate',
  },
  {
    name: 'an unquoted fractional rate (a float)',
    build: loadTest((spec) => {
      spec.load.rate = 2.5;
    }),
    field: 'spec.load.rate',
  },
  {
    name: 'a rate string that is not a decimal',
    build: loadTest((spec) => {
      spec.load.rate = 'fast';
    }),
    field: 'spec.load.rate',
  },
  {
    name: 'a zero rate as a decimal string',
    build: loadTest((spec) => {
      spec.load.rate = '0.000';
    }),
    field: 'spec.load.rate',
  },
  {
    name: 'both url and serviceRef',
    build: loadTest((spec) => {
      spec.targets[0].serviceRef = { name: 'mistral-7b-predictor', port: 8012 };
    }),
    field: 'spec.targets[0]',
    apiserverMessage: /exactly one of url or serviceRef must be set/,
  },
  {
    name: 'neither url nor serviceRef',
    build: loadTest((spec) => {
      delete spec.targets[0].url;
    }),
    field: 'spec.targets[0]',
    apiserverMessage: /exactly one of url or serviceRef must be set/,
  },
  {
    name: 'an unknown profile',
    build: loadTest((spec) => {
      spec.load.profile = 'burst';
    }),
    field: 'spec.load.profile',
  },
  {
    name: 'parallelism 0',
    build: loadTest((spec) => {
      spec.parallelism = 0;
    }),
    field: 'spec.parallelism',
  },
  {
    name: 'a missing model',
    build: loadTest((spec) => {
      delete spec.targets[0].model;
    }),
    field: 'spec.targets[0].model',
  },
  {
    name: 'a rate on a concurrent profile',
    build: loadTest((spec) => {
      spec.load.profile = 'concurrent';
      spec.load.concurrency = 4;
    }),
    field: 'spec.load.rate',
    apiserverMessage: /rate is not allowed when profile is concurrent/,
  },
  {
    name: 'a constant profile without a rate',
    build: loadTest((spec) => {
      delete spec.load.rate;
    }),
    field: 'spec.load.rate',
    apiserverMessage: /rate is required when profile is constant or poisson/,
  },
  {
    name: 'a concurrent profile without concurrency',
    build: loadTest((spec) => {
      spec.load.profile = 'concurrent';
      delete spec.load.rate;
    }),
    field: 'spec.load.concurrency',
    apiserverMessage: /concurrency is required when profile is concurrent/,
  },
  {
    name: 'concurrency on a constant profile',
    build: loadTest((spec) => {
      spec.load.concurrency = 8;
    }),
    field: 'spec.load.concurrency',
    apiserverMessage: /concurrency is not allowed when profile is constant/,
  },
  {
    name: 'an unknown field',
    build: loadTest((spec) => {
      spec.load.rat = 3;
    }),
    field: 'spec.load.rat',
    apiserverMessage: /unknown field/,
    strictOnly: true,
  },
  {
    name: 'a wrong type (string parallelism)',
    build: loadTest((spec) => {
      spec.parallelism = 'three';
    }),
    field: 'spec.parallelism',
  },
  {
    name: 'a fractional duration',
    build: loadTest((spec) => {
      spec.load.durationSeconds = 60.5;
    }),
    field: 'spec.load.durationSeconds',
  },
  {
    name: 'no targets',
    build: loadTest((spec) => {
      spec.targets = [];
    }),
    field: 'spec.targets',
  },
  {
    name: 'two targets with the same name',
    build: loadTest((spec) => {
      spec.targets.push({ ...spec.targets[0] });
    }),
    field: 'spec.targets[1]',
  },
  {
    name: 'a target name that is not a DNS label',
    build: loadTest((spec) => {
      spec.targets[0].name = 'Mistral_7B';
    }),
    field: 'spec.targets[0].name',
  },
  {
    name: 'a url that is not http(s)',
    build: loadTest((spec) => {
      spec.targets[0].url = 'ftp://mistral:8012';
    }),
    field: 'spec.targets[0].url',
  },
  {
    name: 'credentials in the url (they belong in apiKeySecretRef)',
    build: loadTest((spec) => {
      spec.targets[0].url = 'http://user:secret@mistral:8012/v1';
    }),
    field: 'spec.targets[0].url',
  },
  {
    name: 'a Service port out of range',
    build: loadTest((spec) => {
      delete spec.targets[0].url;
      spec.targets[0].serviceRef = { name: 'mistral-7b-predictor', port: 70000 };
    }),
    field: 'spec.targets[0].serviceRef.port',
  },
  {
    name: 'profile sweep without sweep settings',
    build: loadTest((spec) => {
      spec.load = { profile: 'sweep' };
    }),
    field: 'spec.load.sweep',
    apiserverMessage: /sweep is required when profile is sweep/,
  },
  {
    name: 'a run that never ends',
    build: loadTest((spec) => {
      delete spec.load.durationSeconds;
      delete spec.load.warmupSeconds;
    }),
    field: 'spec.load.durationSeconds',
    apiserverMessage: /so that the run ends/,
  },
  {
    name: 'warmup as long as the run',
    build: loadTest((spec) => {
      spec.load.warmupSeconds = 60;
    }),
    field: 'spec.load.warmupSeconds',
    apiserverMessage: /must be less than durationSeconds/,
  },
  {
    name: 'stages together with durationSeconds',
    build: loadTest((spec) => {
      delete spec.load.rate;
      spec.load.stages = [{ durationSeconds: 30, rate: 1 }];
    }),
    field: 'spec.load.stages',
    apiserverMessage: /stages replace rate, concurrency and durationSeconds/,
  },
  {
    name: 'a stage with both rate and concurrency',
    build: loadTest((spec) => {
      delete spec.load.rate;
      delete spec.load.durationSeconds;
      spec.load.stages = [{ durationSeconds: 30, rate: 1, concurrency: 2 }];
    }),
    field: 'spec.load.stages[0]',
    apiserverMessage: /exactly one of rate or concurrency must be set/,
  },
  {
    name: 'a uniform distribution without max',
    build: loadTest((spec) => {
      spec.data.promptTokens = { type: 'uniform', min: 10 };
    }),
    field: 'spec.data.promptTokens.min',
    apiserverMessage: /min and max are required when type is uniform/,
  },
  {
    name: 'a distribution with min above max',
    build: loadTest((spec) => {
      spec.data.outputTokens = { type: 'uniform', min: 200, max: 100 };
    }),
    field: 'spec.data.outputTokens.max',
    apiserverMessage: /max must be greater than or equal to min/,
  },
  {
    name: 'a fixed distribution with a mean',
    build: loadTest((spec) => {
      spec.data.promptTokens = { type: 'fixed', value: 100, mean: 100 };
    }),
    field: 'spec.data.promptTokens.mean',
    apiserverMessage: /mean and stddev are only allowed when type is normal/,
  },
  {
    name: 'a dataset together with promptTokens',
    build: loadTest((spec) => {
      spec.data.dataset = { configMapRef: { name: 'prompts', key: 'prompts.jsonl' } };
    }),
    field: 'spec.data.promptTokens',
    apiserverMessage: /promptTokens is not allowed with dataset/,
  },
  {
    name: 'several runners on a synchronous profile',
    build: loadTest((spec) => {
      spec.load.profile = 'synchronous';
      delete spec.load.rate;
      spec.parallelism = 3;
    }),
    field: 'spec.parallelism',
    apiserverMessage: /parallelism must be 1 when load.profile is synchronous/,
  },
  {
    name: 'more runners than streams',
    build: loadTest((spec) => {
      spec.load.profile = 'concurrent';
      delete spec.load.rate;
      spec.load.concurrency = 2;
      spec.parallelism = 3;
    }),
    field: 'spec.parallelism',
    apiserverMessage: /parallelism must not exceed load.concurrency/,
  },
  {
    name: 'ttlSecondsAfterFinished with cleanupPolicy Never',
    build: loadTest((spec) => {
      spec.cleanupPolicy = 'Never';
      spec.ttlSecondsAfterFinished = 60;
    }),
    field: 'spec.ttlSecondsAfterFinished',
    apiserverMessage: /not allowed when cleanupPolicy is Never/,
  },
  {
    name: 'an error-rate threshold above 100 percent',
    build: loadTest((spec) => {
      spec.slo = { maxErrorRatePercent: 150 };
    }),
    field: 'spec.slo.maxErrorRatePercent',
  },
  {
    name: 'minGoodputPercent without goodput limits',
    build: loadTest((spec) => {
      spec.slo = { minGoodputPercent: 95 };
    }),
    field: 'spec.slo.goodput',
    apiserverMessage: /minGoodputPercent requires goodput/,
  },
  {
    name: 'an env var from a Secret (API keys only through apiKeySecretRef)',
    build: loadTest((spec) => {
      spec.runner = { env: [{ name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'k', key: 'k' } } }] };
    }),
    field: 'spec.runner.env[0].valueFrom',
    apiserverMessage: /unknown field/,
    strictOnly: true,
  },
  {
    name: 'a missing load section',
    build: loadTest((spec) => {
      delete spec.load;
    }),
    field: 'spec.load',
  },
  {
    name: 'a name too long for runner objects',
    build: loadTest((_spec, manifest) => {
      manifest.metadata.name = `quickstart-${'x'.repeat(50)}`;
    }),
    field: 'metadata.name',
    apiserverMessage: /at most 52 characters/,
  },
  {
    name: 'ObservabilityStack: Grafana mode operator without operator settings',
    build: observabilityStack((spec) => {
      spec.grafana = { mode: 'operator' };
    }),
    field: 'spec.grafana.operator',
    apiserverMessage: /operator is required when mode is operator/,
  },
  {
    name: 'ObservabilityStack: sidecar settings in mode api',
    build: observabilityStack((spec) => {
      spec.grafana.mode = 'api';
      spec.grafana.api = { url: 'https://grafana.example.com', credentialsSecretRef: { name: 'g', tokenKey: 't' } };
    }),
    field: 'spec.grafana.sidecar',
    apiserverMessage: /sidecar is only allowed when mode is sidecar/,
  },
  {
    name: 'ObservabilityStack: an unknown Grafana mode',
    build: observabilityStack((spec) => {
      spec.grafana.mode = 'magic';
    }),
    field: 'spec.grafana.mode',
  },
  {
    name: 'ObservabilityStack: two default datasources',
    build: observabilityStack((spec) => {
      spec.grafana.datasources = [
        { name: 'a', url: 'http://a:9090', isDefault: true },
        { name: 'b', url: 'http://b:9090', isDefault: true },
      ];
    }),
    field: 'spec.grafana.datasources',
    apiserverMessage: /at most one datasource may set isDefault/,
  },
  {
    name: 'ObservabilityStack: API credentials with neither token nor basic auth',
    build: observabilityStack((spec) => {
      spec.grafana = {
        mode: 'api',
        api: { url: 'https://grafana.example.com', credentialsSecretRef: { name: 'grafana-api' } },
      };
    }),
    field: 'spec.grafana.api.credentialsSecretRef',
    apiserverMessage: /set either tokenKey or both usernameKey and passwordKey/,
  },
  {
    name: 'ObservabilityStack: a scrape timeout longer than the interval',
    build: observabilityStack((spec) => {
      spec.scrape.vllm.scrapeTimeoutSeconds = 60;
    }),
    field: 'spec.scrape.vllm.scrapeTimeoutSeconds',
    apiserverMessage: /must not exceed intervalSeconds/,
  },
  {
    name: 'ObservabilityStack: an alert threshold of 0 percent',
    build: observabilityStack((spec) => {
      spec.alerts.errorRatePercent = 0;
    }),
    field: 'spec.alerts.errorRatePercent',
  },
  {
    name: 'ObservabilityStack: an invalid label key',
    build: observabilityStack((spec) => {
      spec.prometheus.serviceMonitorLabels = { 'bad key!': 'x' };
    }),
    field: 'spec.prometheus.serviceMonitorLabels',
    apiserverMessage: /valid label key/,
  },
  {
    name: 'ObservabilityStack: missing environment',
    build: observabilityStack((spec) => {
      delete spec.environment;
    }),
    field: 'spec.environment',
  },
];

/** A LoadTest status with every field set, as the operator would write it. */
export function fullLoadTestStatus(): Record<string, unknown> {
  const latency = (p95: number) => ({
    samples: 1200,
    mean: '101.2ms',
    min: '40.1ms',
    max: '812ms',
    p50: '95.3ms',
    p90: '120ms',
    p95: `${p95 / 1000}ms`,
    p99: '301ms',
    p999: '790ms',
    microseconds: {
      mean: 101_200,
      min: 40_100,
      max: 812_000,
      p50: 95_300,
      p90: 120_000,
      p95,
      p99: 301_000,
      p999: 790_000,
    },
  });
  const summary = {
    measuredSeconds: 55,
    requests: { total: 1200, succeeded: 1197, failed: 3, late: 0 },
    ttft: latency(123_400),
    itl: latency(21_700),
    tpot: latency(21_900),
    e2e: latency(2_900_000),
    throughput: { requestsPerSecond: '21.82', outputTokensPerSecond: '2793.1', totalTokensPerSecond: '8379.4' },
    tokens: { prompt: 307_200, output: 153_216 },
    errors: { total: 3, ratePercent: '0.25%', byClass: { http: 2, timeout: 1 }, byStatus: { '200': 1197, '503': 2 } },
    goodput: { requests: 1180, requestsPerSecond: '21.45', percent: '98.33%' },
  };
  return {
    observedGeneration: 1,
    phase: 'ThresholdsBreached',
    conditions: [
      {
        type: 'Accepted',
        status: 'True',
        reason: 'RunnersCreated',
        message: '',
        lastTransitionTime: '2025-01-31T12:00:00Z',
        observedGeneration: 1,
      },
      {
        type: 'RunnersReady',
        status: 'True',
        reason: 'AllRunnersReady',
        message: '1/1 ready',
        lastTransitionTime: '2025-01-31T12:00:05Z',
        observedGeneration: 1,
      },
      {
        type: 'Succeeded',
        status: 'False',
        reason: 'ThresholdsBreached',
        message: 'ttftP95Milliseconds: 123.4ms > 100ms',
        lastTransitionTime: '2025-01-31T12:01:05Z',
        observedGeneration: 1,
      },
      {
        type: 'Failed',
        status: 'False',
        reason: 'Completed',
        message: '',
        lastTransitionTime: '2025-01-31T12:01:05Z',
        observedGeneration: 1,
      },
    ],
    seed: 42,
    startTime: '2025-01-31T12:00:05Z',
    completionTime: '2025-01-31T12:01:05Z',
    runners: { desired: 1, ready: 1, active: 0, succeeded: 1, failed: 0 },
    progress: {
      requestsCompleted: 1200,
      requestsFailed: 3,
      elapsedSeconds: 60,
      expectedSeconds: 60,
      percent: '100%',
      updateTime: '2025-01-31T12:01:05Z',
    },
    summary,
    targets: [{ name: 'mistral-7b', summary }],
    thresholds: [{ name: 'ttftP95Milliseconds', limit: '100ms', observed: '123.4ms', met: false }],
    reportRef: { name: 'quickstart-report', key: 'report.json' },
  };
}

/** An ObservabilityStack status with every field set. */
export function fullObservabilityStackStatus(): Record<string, unknown> {
  return {
    observedGeneration: 3,
    conditions: [
      {
        type: 'Ready',
        status: 'False',
        reason: 'NoMatchingPrometheus',
        message: 'no Prometheus selects release=kube-prometheus-stack',
        lastTransitionTime: '2025-01-31T12:00:00Z',
        observedGeneration: 3,
      },
      {
        type: 'GrafanaReady',
        status: 'True',
        reason: 'Provisioned',
        message: '',
        lastTransitionTime: '2025-01-31T12:00:00Z',
        observedGeneration: 3,
      },
    ],
    managedObjects: [
      { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', namespace: 'monitoring', name: 'loadlm-vllm' },
    ],
    grafanaObjects: [{ type: 'datasource', uid: 'development-rag-ray-dev-prometheus', title: 'prometheus-dev' }],
  };
}
