/** Rendering deploy/ (kustomize, Helm) and checking an installed operator, for the deploy tests. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ClusterHandle } from '../../../cluster/index.ts';
import { repoRoot, waitFor } from '../../../cluster/index.ts';

export const helmBinary = join(repoRoot, '.cache', 'tools', 'bin', 'helm');
export const chartDir = join(repoRoot, 'deploy', 'helm', 'loadlm');
export const kustomizeBase = join(repoRoot, 'deploy', 'kustomize', 'base');

/** A Kubernetes object as plain data. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`invalid YAML: ${document.errors[0]?.message}`);
      return document.toJS() as Manifest | null;
    })
    .filter((manifest): manifest is Manifest => manifest !== null);
}

export function toYamlStream(manifests: Manifest[]): string {
  return manifests.map((manifest) => JSON.stringify(manifest)).join('\n---\n');
}

/** A skip reason when helm is not built, except in CI (.ci/run builds it: missing there is a failure). */
export function helmAvailable(): string | undefined {
  if (process.env.CI || existsSync(helmBinary)) return undefined;
  return `helm is not built: run bash test/tools/helm.sh (${helmBinary})`;
}

/** Runs helm; rejects with its stderr on a non-zero exit. */
export function helm(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(helmBinary, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HELM_CACHE_HOME: join(repoRoot, '.cache', 'helm') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`helm ${args.join(' ')} exited ${code}: ${stderr}`)),
    );
  });
}

/** `helm template RELEASE deploy/helm/loadlm -n NAMESPACE` with `--set`/`--set-json` style arguments. */
export async function helmTemplate(release: string, namespace: string, extra: string[] = []): Promise<Manifest[]> {
  return parseManifests(await helm(['template', release, chartDir, '--namespace', namespace, ...extra]));
}

export async function kustomize(cluster: Pick<ClusterHandle, 'kubectl'>, dir = kustomizeBase): Promise<Manifest[]> {
  return parseManifests((await cluster.kubectl(['kustomize', dir])).stdout);
}

/** Adds env vars to the operator container (what an overlay or `extraEnv` would do). */
export function withOperatorEnv(manifests: Manifest[], env: Record<string, string>): Manifest[] {
  return manifests.map((manifest) => {
    if (manifest.kind !== 'Deployment') return manifest;
    const copy = structuredClone(manifest) as Manifest & {
      spec: { template: { spec: { containers: { name: string; env?: { name: string; value?: string }[] }[] } } };
    };
    const container = copy.spec.template.spec.containers.find((candidate) => candidate.name === 'operator');
    if (!container) throw new Error('the operator Deployment has no container named operator');
    container.env = [
      ...(container.env ?? []).filter((variable) => !(variable.name in env)),
      ...Object.entries(env).map(([name, value]) => ({ name, value })),
    ];
    return copy;
  });
}

/** Server-side apply (for real, or `--dry-run=server`). */
export async function serverSideApply(
  cluster: Pick<ClusterHandle, 'kubectl'>,
  manifests: Manifest[],
  dryRun: boolean,
): Promise<string> {
  const args = ['apply', '--server-side', '--field-manager=loadlm-deploy-test', '-f', '-'];
  if (dryRun) args.push('--dry-run=server');
  return (await cluster.kubectl(args, { input: toYamlStream(manifests), timeoutMs: 120_000 })).stdout;
}

interface DeploymentStatus {
  status?: { readyReplicas?: number; replicas?: number };
}

export async function waitForReadyReplicas(
  cluster: Pick<ClusterHandle, 'kubectl'>,
  namespace: string,
  name: string,
  replicas: number,
  timeoutMs = 90_000,
): Promise<void> {
  await waitFor(
    `Deployment ${namespace}/${name} with ${replicas} ready replicas`,
    async () => {
      const { stdout } = await cluster.kubectl(['get', 'deployment', name, '-o', 'json'], { namespace });
      return (JSON.parse(stdout) as DeploymentStatus).status?.readyReplicas === replicas;
    },
    { timeoutMs },
  );
}

interface PodList {
  items: { metadata: { name: string }; status?: { phase?: string } }[];
}

export async function runningPods(
  cluster: Pick<ClusterHandle, 'kubectl'>,
  namespace: string,
  selector: string,
): Promise<string[]> {
  const { stdout } = await cluster.kubectl(['get', 'pods', '-l', selector, '-o', 'json'], { namespace });
  return (JSON.parse(stdout) as PodList).items
    .filter((pod) => pod.status?.phase === 'Running')
    .map((pod) => pod.metadata.name);
}

/** The Lease holder, once one of `pods` holds it (identity `<pod name>_<random>`). */
export async function waitForLeader(
  cluster: Pick<ClusterHandle, 'kubectl'>,
  namespace: string,
  lease: string,
  pods: string[],
): Promise<string> {
  return waitFor(
    `Lease ${namespace}/${lease} held by one of ${pods.join(', ')}`,
    async () => {
      const result = await cluster.kubectl(['get', 'lease', lease, '-o', 'json'], { namespace, allowFailure: true });
      if (result.code !== 0) return undefined;
      const holder = (JSON.parse(result.stdout) as { spec?: { holderIdentity?: string } }).spec?.holderIdentity ?? '';
      return pods.find((pod) => holder.startsWith(`${pod}_`));
    },
    { timeoutMs: 60_000 },
  );
}

/** `kubectl auth can-i VERB RESOURCE [-n NS | -A] --as SERVICEACCOUNT` → yes/no. */
export async function canI(
  cluster: Pick<ClusterHandle, 'kubectl'>,
  serviceAccount: string,
  verb: string,
  resource: string,
  scope: { namespace: string } | 'all-namespaces' | 'cluster',
): Promise<boolean> {
  const args = ['auth', 'can-i', verb, resource, `--as=${serviceAccount}`];
  if (scope === 'all-namespaces') args.push('--all-namespaces');
  const result = await cluster.kubectl(args, {
    allowFailure: true,
    ...(typeof scope === 'object' ? { namespace: scope.namespace } : {}),
  });
  const answer = result.stdout.trim();
  if (answer !== 'yes' && answer !== 'no')
    throw new Error(`kubectl auth can-i: unexpected answer ${answer} ${result.stderr}`);
  return answer === 'yes';
}

/** A short LoadTest against a simulator URL. */
export function loadTestManifest(name: string, url: string): Manifest {
  return {
    apiVersion: 'loadlm.dev/v1alpha1',
    kind: 'LoadTest',
    metadata: { name },
    spec: {
      targets: [{ name: 'sim', url, model: 'mistralai/Mistral-7B-Instruct-v0.3' }],
      load: { profile: 'constant', rate: 4, durationSeconds: 3 },
      data: { promptTokens: { type: 'fixed', value: 32 }, outputTokens: { type: 'fixed', value: 8 } },
      parallelism: 1,
      startupDeadlineSeconds: 60,
    },
  };
}

interface LoadTestStatus {
  status?: { phase?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/** Waits for Succeeded=True; fails as soon as Failed=True, with its reason and message. */
export async function waitForSucceeded(
  cluster: Pick<ClusterHandle, 'kubectl'>,
  namespace: string,
  name: string,
  timeoutMs = 120_000,
): Promise<LoadTestStatus> {
  const settled = await waitFor(
    `LoadTest ${namespace}/${name} Succeeded or Failed`,
    async () => {
      const { stdout } = await cluster.kubectl(['get', 'loadtest', name, '-o', 'json'], { namespace });
      const lt = JSON.parse(stdout) as LoadTestStatus;
      const done = (lt.status?.conditions ?? []).some(
        (condition) => ['Succeeded', 'Failed'].includes(condition.type) && condition.status === 'True',
      );
      return done ? lt : undefined;
    },
    { timeoutMs },
  );
  const failed = settled.status?.conditions?.find(
    (condition) => condition.type === 'Failed' && condition.status === 'True',
  );
  if (failed) throw new Error(`LoadTest ${namespace}/${name} failed: ${failed.reason}: ${failed.message}`);
  return settled;
}
