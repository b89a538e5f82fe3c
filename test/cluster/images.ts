/** Image mappings for loadlm's own images, used by `npm run cluster:up` and tests that run the real runner. */
import { join } from 'node:path';
import { repoRoot } from './build.ts';
import type { ImageMap } from './executor/images.ts';

/** Repository of the runner image (tags and digests do not matter to the executor). */
export const runnerImage = 'ghcr.io/loadlm/loadlm';

/** Repository of the operator image (Dockerfile.operator, deployed by deploy/). */
export const operatorImage = 'ghcr.io/loadlm/loadlm-operator';

export function defaultImages(): ImageMap {
  const loadlm = [process.execPath, join(repoRoot, 'runner', 'main.ts')];
  const node = [process.execPath];
  const operator = [process.execPath, join(repoRoot, 'operator', 'main.ts')];
  return {
    // ENTRYPOINT ["loadlm"]; `command: [loadlm, ...]` resolves to the same program.
    [runnerImage]: { entrypoint: loadlm, binaries: { loadlm, node } },
    // ENTRYPOINT ["loadlm-operator"].
    [operatorImage]: { entrypoint: operator, binaries: { 'loadlm-operator': operator, node } },
    // The official node image: CMD ["node"].
    node: { entrypoint: [], cmd: ['node'], binaries: { node } },
  };
}
