/**
 * `<lt>-runners`: a headless Service selecting the runner pods, port `metrics` (9090), labelled
 * `loadlm.dev/metrics: "true"` so the ObservabilityStack's ServiceMonitor (selector on that label, endpoint
 * port `metrics`) scrapes every runner pod directly. Headless because Prometheus scrapes the endpoints, not a
 * virtual IP, and no ClusterIP needs allocating.
 */
import type { LoadTest } from '../../../api/loadtest.ts';
import type { Service } from './kube-types.ts';
import {
  labelKeys,
  loadTestRef,
  metricsPort,
  metricsPortName,
  ownerReference,
  runnerLabels,
  runnerPodSelector,
  runnerServiceName,
} from './names.ts';

export function renderRunnerService(lt: LoadTest): Service {
  const ref = loadTestRef(lt);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: runnerServiceName(ref.name),
      namespace: ref.namespace,
      labels: { ...runnerLabels(ref.name), [labelKeys.metrics]: 'true' },
      ownerReferences: [ownerReference(lt)],
    },
    spec: {
      clusterIP: 'None',
      selector: runnerPodSelector(ref.name),
      ports: [{ name: metricsPortName, port: metricsPort, targetPort: metricsPortName, protocol: 'TCP' }],
    },
  };
}
