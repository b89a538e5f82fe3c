/** Shared setup for the operator runtime's integration tests against the local control plane. */
import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { KubeClient } from '../../../operator/runtime/kube-client.ts';
import { createLogger, type Logger, silentLogger } from '../../../operator/runtime/logger.ts';
import { RuntimeMetrics } from '../../../operator/runtime/metrics.ts';
import type { KubeObject, ResourceType } from '../../../operator/runtime/resources.ts';
import type { ClusterHandle } from '../../cluster/index.ts';

/** Logs go to stderr with LOADLM_TEST_LOG=debug (or info, ...); silent otherwise. */
export function testLogger(): Logger {
  const level = process.env.LOADLM_TEST_LOG;
  if (!level) return silentLogger();
  return createLogger({ level, name: 'runtime-test', destination: process.stderr });
}

export async function newClient(
  kubeConfig: KubeConfig,
  options: { requestTimeoutMs?: number } = {},
): Promise<{ client: KubeClient; metrics: RuntimeMetrics }> {
  const metrics = new RuntimeMetrics(new Registry(), { processMetrics: false });
  const client = await KubeClient.fromKubeConfig(kubeConfig, { metrics, ...options });
  return { client, metrics };
}

export interface Widget extends KubeObject {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface WidgetCrd {
  resource: ResourceType;
  apiVersion: string;
  /** Changes the CRD's printer columns: the apiserver rebuilds the kind's storage and watch cache. */
  touch(): Promise<void>;
  remove(): Promise<void>;
}

/**
 * A private namespaced CRD (`widgets.<random>.runtime-test.loadlm.dev`, status subresource) so tests do not
 * disturb the real loadlm kinds or each other.
 */
export async function installWidgetCrd(cluster: ClusterHandle): Promise<WidgetCrd> {
  const group = `w${randomBytes(3).toString('hex')}.runtime-test.loadlm.dev`;
  const name = `widgets.${group}`;
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name, labels: { 'loadlm.dev/test': 'true' } },
    spec: {
      group,
      names: { kind: 'Widget', listKind: 'WidgetList', plural: 'widgets', singular: 'widget' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
  await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(crd) });
  await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${name}`]);
  let touches = 0;
  return {
    resource: { group, version: 'v1', plural: 'widgets', kind: 'Widget', namespaced: true },
    apiVersion: `${group}/v1`,
    touch: async () => {
      touches++;
      const columns = [{ name: `Touched${touches}`, type: 'string', jsonPath: '.spec.a' }];
      await cluster.kubectl([
        'patch',
        'crd',
        name,
        '--type=json',
        '-p',
        JSON.stringify([{ op: 'add', path: '/spec/versions/0/additionalPrinterColumns', value: columns }]),
      ]);
    },
    remove: async () => {
      await cluster.kubectl(['delete', 'crd', name, '--ignore-not-found', '--wait=false']);
    },
  };
}
