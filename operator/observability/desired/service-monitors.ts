/**
 * The ServiceMonitors of a stack: vLLM, DCGM, the loadlm runners' metrics Services and each extra app. Every
 * endpoint stamps the environment labels (provider, cluster, region, environment) onto every scraped series
 * through `replace` relabelings, so one query can compare clusters. They carry prometheus.serviceMonitorLabels
 * so that the cluster's Prometheus selects them.
 */

import type { ObservabilityStack, ScrapeTarget } from '../../../api/observabilitystack.ts';
import { labelKeys } from '../../../runner/handoff/protocol.ts';
import type { LabelSelector, RelabelConfig, ServiceMonitor } from './kinds.ts';
import { extraAppTarget, ownerReferencesIn, serviceMonitorName, stackLabels, stackRef } from './names.ts';

/** Port name and path of the runners' metrics Services (operator/loadtest/desired/runner-service.ts). */
export const runnerMetricsPort = 'metrics';
export const runnerMetricsPath = '/metrics';

export interface ScrapeRenderOptions {
  /** Namespaces the operator watches; empty: all. The runners' ServiceMonitor covers these by default. */
  watchedNamespaces: readonly string[];
}

/** Where the ServiceMonitors and the PrometheusRule live. */
export function monitoringNamespace(stack: ObservabilityStack): string {
  return stack.spec.prometheus.namespace ?? stackRef(stack).namespace;
}

/** `replace` relabelings that set each environment label that has a value. */
export function environmentRelabelings(stack: ObservabilityStack): RelabelConfig[] {
  const environment = stack.spec.environment;
  const labels: [string, string | undefined][] = [
    ['provider', environment.provider],
    ['cluster', environment.cluster],
    ['region', environment.region],
    ['environment', environment.name],
  ];
  return labels
    .filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '')
    .map(([targetLabel, replacement]) => ({ action: 'replace', targetLabel, replacement }));
}

export function renderServiceMonitors(stack: ObservabilityStack, options: ScrapeRenderOptions): ServiceMonitor[] {
  const scrape = stack.spec.scrape;
  const out: ServiceMonitor[] = [];
  if (scrape.vllm) out.push(fromTarget(stack, 'vllm', scrape.vllm));
  if (scrape.dcgm) out.push(fromTarget(stack, 'dcgm', scrape.dcgm));
  if (scrape.runners.enabled) {
    const namespaces = scrape.runners.namespaces ?? options.watchedNamespaces;
    out.push(
      serviceMonitor(stack, 'runners', {
        selector: { matchLabels: { [labelKeys.metrics]: 'true' } },
        namespaceSelector: namespaces.length > 0 ? { matchNames: [...namespaces] } : { any: true },
        port: runnerMetricsPort,
        path: runnerMetricsPath,
        intervalSeconds: scrape.runners.intervalSeconds,
      }),
    );
  }
  for (const app of scrape.extraApps ?? []) {
    const monitor = fromTarget(stack, extraAppTarget(app.name), app);
    // The app's name becomes its `job` label (instead of the Service name).
    monitor.spec.endpoints[0]?.relabelings.unshift({ action: 'replace', targetLabel: 'job', replacement: app.name });
    out.push(monitor);
  }
  return out;
}

function fromTarget(stack: ObservabilityStack, target: string, settings: ScrapeTarget): ServiceMonitor {
  return serviceMonitor(stack, target, {
    selector: settings.selector,
    namespaceSelector: { matchNames: [...(settings.namespaces ?? [stackRef(stack).namespace])] },
    port: settings.port,
    path: settings.path,
    intervalSeconds: settings.intervalSeconds,
    ...(settings.scrapeTimeoutSeconds !== undefined ? { scrapeTimeoutSeconds: settings.scrapeTimeoutSeconds } : {}),
  });
}

interface MonitorSettings {
  selector: LabelSelector;
  namespaceSelector: ServiceMonitor['spec']['namespaceSelector'];
  port: string;
  path: string;
  intervalSeconds: number;
  scrapeTimeoutSeconds?: number;
}

function serviceMonitor(stack: ObservabilityStack, target: string, settings: MonitorSettings): ServiceMonitor {
  const ref = stackRef(stack);
  const namespace = monitoringNamespace(stack);
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: {
      name: serviceMonitorName(ref.name, target),
      namespace,
      // Ours last: selection labels must not overwrite the tracking labels.
      labels: { ...stack.spec.prometheus.serviceMonitorLabels, ...stackLabels(ref, 'scrape') },
      ownerReferences: ownerReferencesIn(stack, namespace),
    },
    spec: {
      selector: copySelector(settings.selector),
      namespaceSelector: settings.namespaceSelector,
      endpoints: [
        {
          port: settings.port,
          path: settings.path,
          interval: `${settings.intervalSeconds}s`,
          ...(settings.scrapeTimeoutSeconds !== undefined
            ? { scrapeTimeout: `${settings.scrapeTimeoutSeconds}s` }
            : {}),
          relabelings: environmentRelabelings(stack),
        },
      ],
    },
  };
}

/** A copy without empty parts (the apiserver drops them, and the no-op check compares with what it stored). */
function copySelector(selector: LabelSelector): LabelSelector {
  const out: LabelSelector = {};
  if (selector.matchLabels && Object.keys(selector.matchLabels).length > 0) {
    out.matchLabels = { ...selector.matchLabels };
  }
  if (selector.matchExpressions && selector.matchExpressions.length > 0) {
    out.matchExpressions = selector.matchExpressions.map((expression) => ({
      key: expression.key,
      operator: expression.operator,
      ...(expression.values && expression.values.length > 0 ? { values: [...expression.values] } : {}),
    }));
  }
  return out;
}
