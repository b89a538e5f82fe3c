/**
 * Writes the generated CRDs (crds/) and API reference (docs/reference/) from the zod schemas in api/, and the
 * generated parts of deploy/ (RBAC from operator/rbac.ts, CRD copies for kustomize and Helm).
 * `--check` writes nothing and exits 1 when a committed file differs from what would be generated.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { renderAll } from '../api/render.ts';
import { renderDeployFiles } from './deploy-files.ts';

const root = join(import.meta.dirname, '..');
const check = process.argv.includes('--check');
const stale: string[] = [];

for (const [path, content] of [...renderAll(), ...renderDeployFiles()]) {
  const file = join(root, path);
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current === content) continue;
  if (check) {
    stale.push(path);
    continue;
  }
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, content);
  console.log(`wrote ${path}`);
}

if (stale.length > 0) {
  console.error(`stale generated files (run npm run generate): ${stale.join(', ')}`);
  process.exit(1);
}
