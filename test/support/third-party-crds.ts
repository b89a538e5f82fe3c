/**
 * The CRDs of prometheus-operator and grafana-operator, fetched by test/tools/third-party-crds.sh into
 * .cache/tools/crds/, and a helper that installs some of them into a test cluster and waits until they are
 * Established. Installing is a server-side apply under one field manager: idempotent and safe from several
 * suites at once. Only the kinds asked for are installed (the big ones, like alertmanagers, cost apiserver memory).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubectlCluster } from './crds.ts';

export const thirdPartyCrdsDir = join(import.meta.dirname, '..', '..', '.cache', 'tools', 'crds');
const fetchScript = join(import.meta.dirname, '..', 'tools', 'third-party-crds.sh');

interface CrdStatus {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}

/** Which CRD (by plural) of which project. */
export const thirdPartyCrds = {
  prometheusOperator: {
    dir: 'prometheus-operator',
    group: 'monitoring.coreos.com',
    /** What loadlm creates and reads. */
    defaults: ['servicemonitors', 'prometheusrules', 'prometheuses'],
  },
  grafanaOperator: {
    dir: 'grafana-operator',
    group: 'grafana.integreatly.org',
    defaults: ['grafanas', 'grafanadatasources', 'grafanadashboards', 'grafanafolders'],
  },
} as const;

export type ThirdPartyProject = keyof typeof thirdPartyCrds;

/** Path of one CRD file, e.g. `crdFile('prometheusOperator', 'servicemonitors')`. */
export function thirdPartyCrdFile(project: ThirdPartyProject, plural: string): string {
  const { dir, group } = thirdPartyCrds[project];
  return join(thirdPartyCrdsDir, dir, `${group}_${plural}.yaml`);
}

/** `servicemonitors.monitoring.coreos.com`. */
export function thirdPartyCrdName(project: ThirdPartyProject, plural: string): string {
  return `${plural}.${thirdPartyCrds[project].group}`;
}

/** Runs test/tools/third-party-crds.sh when the files are not there yet (it is idempotent and quick when warm). */
export function ensureThirdPartyCrds(): void {
  const wanted = Object.keys(thirdPartyCrds).flatMap((project) =>
    thirdPartyCrds[project as ThirdPartyProject].defaults.map((plural) =>
      thirdPartyCrdFile(project as ThirdPartyProject, plural),
    ),
  );
  if (wanted.every((file) => existsSync(file))) return;
  execFileSync('bash', [fetchScript], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * Installs the CRDs of `project` (default: the kinds loadlm uses) and waits until they are Established.
 * Fetches them first if needed.
 */
export async function installThirdPartyCrds(
  cluster: KubectlCluster,
  project: ThirdPartyProject,
  options: { plurals?: readonly string[]; timeoutSeconds?: number } = {},
): Promise<string[]> {
  ensureThirdPartyCrds();
  const plurals = options.plurals ?? thirdPartyCrds[project].defaults;
  const files = plurals.map((plural) => thirdPartyCrdFile(project, plural));
  for (const file of files) if (!existsSync(file)) throw new Error(`no CRD file ${file}`);
  await cluster.kubectl([
    'apply',
    '--server-side',
    '--force-conflicts',
    '--field-manager=loadlm-tests',
    ...files.flatMap((file) => ['-f', file]),
  ]);
  const names = plurals.map((plural) => thirdPartyCrdName(project, plural));
  // Polled rather than `kubectl wait`, which fails outright while a new CRD has no status.conditions yet.
  const deadline = Date.now() + (options.timeoutSeconds ?? 60) * 1000;
  for (;;) {
    const { stdout } = await cluster.kubectl(['get', 'customresourcedefinitions', '-o', 'json']);
    const items = (JSON.parse(stdout) as { items: CrdStatus[] }).items;
    const established = names.filter((name) =>
      items.some(
        (item) =>
          item.metadata.name === name &&
          item.status?.conditions?.some((condition) => condition.type === 'Established' && condition.status === 'True'),
      ),
    ).length;
    if (established === names.length) break;
    if (Date.now() > deadline) throw new Error(`CRDs not Established in time: ${names.join(', ')}`);
    await sleep(200);
  }
  return names;
}
