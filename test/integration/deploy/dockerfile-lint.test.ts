/** hadolint (installed from PyPI by test/tools/hadolint.sh) finds nothing in either Dockerfile. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../cluster/index.ts';

const hadolint = join(repoRoot, '.cache', 'tools', 'hadolint', 'bin', 'hadolint');
// Skipped on a developer machine without it; in CI (.ci/run installs it) a missing hadolint fails.
const skip =
  process.env.CI || existsSync(hadolint) ? undefined : 'hadolint is not installed: run bash test/tools/hadolint.sh';

describe('hadolint', { skip }, () => {
  for (const dockerfile of ['Dockerfile.operator', 'Dockerfile.runner']) {
    it(`${dockerfile}: no findings at any severity`, () => {
      const result = spawnSync(hadolint, ['--no-color', '--failure-threshold', 'style', dockerfile], {
        cwd: repoRoot,
        encoding: 'utf8',
      });
      assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
      assert.equal(result.stdout.trim(), '');
    });
  }
});
