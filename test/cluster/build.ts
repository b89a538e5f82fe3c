/** Builds (or finds cached) the control plane harness and kubectl through test/controlplane/build.sh. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const repoRoot = join(import.meta.dirname, '..', '..');
const buildScript = join(repoRoot, 'test', 'controlplane', 'build.sh');

export interface ControlPlaneBinaries {
  binDir: string;
  controlplane: string;
  kubectl: string;
}

/** Returns the cached binaries, building them first if needed (minutes when cold; build output goes to stderr). */
export function ensureBinaries(options: { buildTimeoutMs?: number } = {}): Promise<ControlPlaneBinaries> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [buildScript], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: options.buildTimeoutMs ?? 45 * 60_000,
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const binDir = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0) {
        reject(new Error(`${buildScript} failed (exit ${code ?? signal}); see its output above`));
        return;
      }
      const binaries = { binDir, controlplane: join(binDir, 'controlplane'), kubectl: join(binDir, 'kubectl') };
      if (!existsSync(binaries.controlplane) || !existsSync(binaries.kubectl)) {
        reject(new Error(`${buildScript} printed "${binDir}", which does not hold controlplane and kubectl`));
        return;
      }
      resolve(binaries);
    });
  });
}
