/**
 * A pod's API credentials, obtained the way the kubelet obtains them: a TokenRequest for the pod's ServiceAccount,
 * bound to the pod (so it dies with the pod). The executor writes a per-pod kubeconfig with that token and the
 * in-cluster files (token, ca.crt, namespace); the admin credentials never reach a pod.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ApiClient } from '../api-client.ts';
import type { Pod } from './types.ts';

/** Long enough for any test or manual run; the executor does not rotate tokens. */
const tokenLifetimeSeconds = 24 * 60 * 60;

export interface ClusterEndpoint {
  server: string;
  caData: string;
}

export async function writePodCredentials(
  client: ApiClient,
  pod: Pod,
  endpoint: ClusterEndpoint,
  podDir: string,
): Promise<{ kubeconfigPath: string }> {
  const namespace = pod.metadata.namespace ?? 'default';
  const serviceAccount = pod.spec.serviceAccountName || 'default';
  const response = await client.request<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
    {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          expirationSeconds: tokenLifetimeSeconds,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid },
        },
      },
    },
  );
  const token = response.status.token;
  const saDir = join(podDir, 'serviceaccount');
  mkdirSync(saDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(saDir, 'token'), token, { mode: 0o600 });
  writeFileSync(join(saDir, 'ca.crt'), Buffer.from(endpoint.caData, 'base64'), { mode: 0o600 });
  writeFileSync(join(saDir, 'namespace'), namespace, { mode: 0o600 });
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server: endpoint.server, 'certificate-authority-data': endpoint.caData } }],
    users: [{ name: `${namespace}:${serviceAccount}`, user: { token } }],
    contexts: [{ name: 'pod', context: { cluster: 'local', user: `${namespace}:${serviceAccount}`, namespace } }],
    'current-context': 'pod',
  };
  const kubeconfigPath = join(podDir, 'kubeconfig');
  writeFileSync(kubeconfigPath, stringify(kubeconfig), { mode: 0o600 });
  return { kubeconfigPath };
}
