/** API group, version, names and `kubectl get` columns of the loadlm kinds. */

export const group = 'loadlm.dev';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;
export const category = 'loadlm';

export interface KindNames {
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

export const loadTestNames: KindNames = {
  kind: 'LoadTest',
  listKind: 'LoadTestList',
  plural: 'loadtests',
  singular: 'loadtest',
  shortNames: ['lt'],
  categories: [category],
};

export const observabilityStackNames: KindNames = {
  kind: 'ObservabilityStack',
  listKind: 'ObservabilityStackList',
  plural: 'observabilitystacks',
  singular: 'observabilitystack',
  shortNames: ['obs'],
  categories: [category],
};

export const loadTestColumns: PrinterColumn[] = [
  { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Phase derived from the conditions.' },
  { name: 'Profile', type: 'string', jsonPath: '.spec.load.profile', description: 'Load profile.' },
  { name: 'Runners', type: 'integer', jsonPath: '.spec.parallelism', description: 'Runner pods per target.' },
  { name: 'Progress', type: 'string', jsonPath: '.status.progress.percent', description: 'Progress of the run.' },
  {
    name: 'TTFT-P95',
    type: 'string',
    jsonPath: '.status.summary.ttft.p95',
    description: '95th percentile time to first token.',
  },
  {
    name: 'TPOT-P95',
    type: 'string',
    jsonPath: '.status.summary.tpot.p95',
    description: '95th percentile time per output token.',
  },
  {
    name: 'Req/s',
    type: 'string',
    jsonPath: '.status.summary.throughput.requestsPerSecond',
    description: 'Completed requests per second.',
  },
  {
    name: 'Tok/s',
    type: 'string',
    jsonPath: '.status.summary.throughput.outputTokensPerSecond',
    description: 'Output tokens per second.',
  },
  { name: 'Errors', type: 'integer', jsonPath: '.status.summary.errors.total', description: 'Failed requests.' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation.' },
  {
    name: 'Target',
    type: 'string',
    jsonPath: '.spec.targets[0].name',
    description: 'Name of the (first) target.',
    priority: 1,
  },
  {
    name: 'Model',
    type: 'string',
    jsonPath: '.spec.targets[0].model',
    description: 'Model of the (first) target.',
    priority: 1,
  },
];

export const observabilityStackColumns: PrinterColumn[] = [
  {
    name: 'Ready',
    type: 'string',
    jsonPath: ".status.conditions[?(@.type=='Ready')].status",
    description: 'Whether every part is in place.',
  },
  { name: 'Environment', type: 'string', jsonPath: '.spec.environment.name', description: 'Environment label.' },
  { name: 'Cluster', type: 'string', jsonPath: '.spec.environment.cluster', description: 'Cluster label.' },
  { name: 'Grafana', type: 'string', jsonPath: '.spec.grafana.mode', description: 'Grafana provisioning mode.' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation.' },
  {
    name: 'Reason',
    type: 'string',
    jsonPath: ".status.conditions[?(@.type=='Ready')].reason",
    description: 'Reason of the Ready condition.',
    priority: 1,
  },
];
