/** Image mappings for loadlm's own images, used by `npm run cluster:up` and tests that run the real runner. */
import { join } from 'node:path';
import { repoRoot } from './build.ts';
import type { ImageMap } from './executor/images.ts';

/** Repository of the runner image (tags and digests do not matter to the executor). */
export const runnerImage = 'ghcr.io/loadlm/loadlm';

export function defaultImages(): ImageMap {
  const loadlm = [process.execPath, join(repoRoot, 'runner', 'main.ts')];
  const node = [process.execPath];
  return {
    // ENTRYPOINT ["loadlm"]; `command: [loadlm, ...]` resolves to the same program.
    [runnerImage]: { entrypoint: loadlm, binaries: { loadlm, node } },
    // The official node image: CMD ["node"].
    node: { entrypoint: [], cmd: ['node'], binaries: { node } },
  };
}
