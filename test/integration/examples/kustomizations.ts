/**
 * Which example files a kustomization applies: its resources (files, or directories with their own
 * kustomization), patch files and generator inputs, followed transitively. The examples test uses it to fail
 * when a file under examples/ is applied nowhere.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parse } from 'yaml';

export const examplesDir = join(import.meta.dirname, '..', '..', '..', 'examples');

interface Kustomization {
  resources?: string[];
  components?: string[];
  patches?: { path?: string }[];
  patchesStrategicMerge?: string[];
  configMapGenerator?: { files?: string[]; envs?: string[] }[];
  secretGenerator?: { files?: string[]; envs?: string[] }[];
}

const kustomizationNames = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

function kustomizationFile(dir: string): string | undefined {
  return kustomizationNames.map((name) => join(dir, name)).find((file) => existsSync(file));
}

/** Absolute paths of every file the kustomization in `dir` reads, its kustomization file included. */
export function filesOfKustomization(dir: string, seen = new Set<string>()): Set<string> {
  const file = kustomizationFile(dir);
  if (!file) throw new Error(`${dir} has no kustomization.yaml`);
  if (seen.has(file)) return seen;
  seen.add(file);
  const kustomization = (parse(readFileSync(file, 'utf8')) ?? {}) as Kustomization;
  const add = (path: string) => {
    const full = resolve(dir, path);
    if (existsSync(full) && statSync(full).isDirectory()) filesOfKustomization(full, seen);
    else seen.add(full);
  };
  for (const path of [...(kustomization.resources ?? []), ...(kustomization.components ?? [])]) add(path);
  for (const patch of kustomization.patches ?? []) if (patch.path) add(patch.path);
  for (const path of kustomization.patchesStrategicMerge ?? []) add(path);
  for (const generator of [...(kustomization.configMapGenerator ?? []), ...(kustomization.secretGenerator ?? [])]) {
    // `key=path` names the key; the file is the part after `=`.
    for (const entry of [...(generator.files ?? []), ...(generator.envs ?? [])]) add(entry.split('=').at(-1) ?? entry);
  }
  return seen;
}

/** Every YAML file under examples/ (relative paths), README and other docs excluded. */
export function exampleYamlFiles(dir = examplesDir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...exampleYamlFiles(full));
    else if (/\.ya?ml$/.test(entry.name)) out.push(relative(examplesDir, full));
  }
  return out.sort();
}

/** The kustomization directory a file belongs to, for messages. */
export function describeUncovered(file: string): string {
  const dir = dirname(join(examplesDir, file));
  return kustomizationFile(dir)
    ? `examples/${file} (not read by ${relative(examplesDir, dir)}/kustomization.yaml, or that kustomization is not ` +
        'in appliedKustomizations of examples.test.ts)'
    : `examples/${file} (not a top-level example and not part of any applied kustomization)`;
}
