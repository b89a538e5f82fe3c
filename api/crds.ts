/** The two CustomResourceDefinitions, assembled from the zod schemas. */
import { loadTestColumns, loadTestNames, observabilityStackColumns, observabilityStackNames } from './crd-meta.ts';
import { LoadTestSpec, LoadTestStatus, loadTestNameRule } from './loadtest.ts';
import { ObservabilityStackSpec, ObservabilityStackStatus, observabilityStackNameRule } from './observabilitystack.ts';
import { buildCrd, type CrdSource, type CustomResourceDefinition } from './to-crd.ts';

export const loadTestSource: CrdSource = {
  names: loadTestNames,
  description:
    'LoadTest runs one load test against OpenAI-compatible LLM endpoints (vLLM and others) with runner pods, and ' +
    'reports merged latency and throughput results and SLO outcomes in its status. The spec is immutable: create ' +
    'a new LoadTest (e.g. with metadata.generateName) to run again.',
  spec: LoadTestSpec,
  status: LoadTestStatus,
  columns: loadTestColumns,
  rootRules: [loadTestNameRule],
};

export const observabilityStackSource: CrdSource = {
  names: observabilityStackNames,
  description:
    'ObservabilityStack wires one cluster into Prometheus and Grafana: ServiceMonitors for vLLM, DCGM, loadlm ' +
    'runners and other apps with environment labels, Grafana datasources and dashboards, and alerting rules. It is ' +
    'long-lived and may be changed at any time.',
  spec: ObservabilityStackSpec,
  status: ObservabilityStackStatus,
  columns: observabilityStackColumns,
  rootRules: [observabilityStackNameRule],
};

export function loadTestCrd(): CustomResourceDefinition {
  return buildCrd(loadTestSource);
}

export function observabilityStackCrd(): CustomResourceDefinition {
  return buildCrd(observabilityStackSource);
}

export function allCrds(): CustomResourceDefinition[] {
  return [loadTestCrd(), observabilityStackCrd()];
}
