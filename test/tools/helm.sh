#!/usr/bin/env bash
# helm is not a Debian package: build it from the Go module proxy into .cache/tools/bin (idempotent).
# Used by test/unit/deploy and test/integration/deploy (helm lint, helm template).
set -euo pipefail
cd "$(dirname "$0")/../.."
version=v3.22.0
# What helm's Makefile derives from its k8s.io/client-go (v0.37 → Kubernetes 1.37): the Capabilities that
# `helm template` and `helm lint` assume. Without them helm assumes Kubernetes 1.20.
kube_major=1
kube_minor=37
bin=.cache/tools/bin/helm
stamp=.cache/tools/bin/helm.stamp
want="$version kubernetes $kube_major.$kube_minor"
if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "helm $version: $bin (cached)"
  exit 0
fi
command -v go >/dev/null || { echo "helm.sh: go is needed to build helm $version (Go >= 1.24)" >&2; exit 1; }
mkdir -p .cache/tools/bin
start=$(date +%s)
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$version"
for package in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X $package.k8sVersionMajor=$kube_major -X $package.k8sVersionMinor=$kube_minor"
done
# nice: the machine is shared with the test run; CGO off gives a static binary.
CGO_ENABLED=0 GOBIN="$PWD/.cache/tools/bin" nice -n 10 go install -trimpath -ldflags "$ldflags" \
  "helm.sh/helm/v3/cmd/helm@$version"
echo "$want" >"$stamp"
echo "helm $version: $bin (built in $(($(date +%s) - start))s)"
