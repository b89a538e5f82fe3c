/**
 * Installs loadlm's CRDs (crds/*.yaml) into a test cluster and waits until they are Established. Idempotent and
 * safe to call from several suites at once: it is a server-side apply with one field manager.
 *
 * The YAML goes to the apiserver as is, through kubectl: client-node's typed models would drop
 * x-kubernetes-int-or-string and x-kubernetes-preserve-unknown-fields.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export const crdsDir = join(import.meta.dirname, '..', '..', 'crds');

export interface KubectlResult {
  stdout: string;
  stderr: string;
}

/** The part of the test cluster handle this helper needs. */
export interface KubectlCluster {
  kubectl(args: string[], options?: { input?: string }): Promise<KubectlResult>;
}

export function crdFiles(): string[] {
  return readdirSync(crdsDir)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .map((name) => join(crdsDir, name));
}

/** `crds/loadlm.dev_loadtests.yaml` → `loadtests.loadlm.dev`. */
export function crdNameOf(file: string): string {
  const base = file.split('/').at(-1) ?? file;
  const match = /^(.+?)_(.+)\.yaml$/.exec(base);
  if (!match) throw new Error(`unexpected CRD file name ${base}`);
  return `${match[2]}.${match[1]}`;
}

export async function installCrds(cluster: KubectlCluster, options: { timeoutSeconds?: number } = {}): Promise<void> {
  const files = crdFiles();
  const fileArgs = files.flatMap((file) => ['-f', file]);
  await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=loadlm-tests', ...fileArgs]);
  await cluster.kubectl([
    'wait',
    '--for=condition=Established',
    `--timeout=${options.timeoutSeconds ?? 60}s`,
    ...files.map((file) => `customresourcedefinition/${crdNameOf(file)}`),
  ]);
}
