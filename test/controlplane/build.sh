#!/usr/bin/env bash
# Builds the local control plane harness and a matching kubectl once, and
# caches them under <repo>/.cache/controlplane/<hash>/, keyed by this script,
# go.mod, go.sum, the Go sources and the Go version. Prints the bin dir as the last
# line on stdout; a warm call returns at once.
#
# Needs only Go and the Go module proxy. Never add -trimpath: the apiserver
# test helpers find their certificate fixtures through runtime.Caller.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

if ! command -v go >/dev/null 2>&1; then
  echo "build.sh: 'go' not found on PATH; install Go (>= 1.24) to build the test control plane" >&2
  exit 1
fi

key="$(
  cd "$here"
  {
    go version
    cat build.sh go.mod go.sum
    for f in *.go; do
      echo "== $f"
      cat "$f"
    done
  } | sha256sum | cut -c1-16
)"
out="$repo/.cache/controlplane/$key"

if [[ -x "$out/controlplane" && -x "$out/kubectl" ]]; then
  echo "$out"
  exit 0
fi

mkdir -p "$repo/.cache/controlplane"
exec 9>"$repo/.cache/controlplane/.build.lock"
flock 9
# Another process may have finished the build while we waited for the lock.
if [[ -x "$out/controlplane" && -x "$out/kubectl" ]]; then
  echo "$out"
  exit 0
fi

cd "$here"
export GOFLAGS="-mod=mod -buildvcs=false"
# Static, pure-Go binaries (as Kubernetes releases them): no C toolchain needed, same result on every machine.
export CGO_ENABLED=0
k8s_version="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
minor="$(echo "$k8s_version" | cut -d. -f2)"
# -s -w drop the symbol table and DWARF only; runtime.Caller (pclntab) keeps working.
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

tmp="$(mktemp -d "$repo/.cache/controlplane/.build.XXXXXX")"
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
echo "build.sh: building control plane $k8s_version into $out (cold builds take several minutes)" >&2
start=$SECONDS
go test -c -o "$tmp/controlplane" -ldflags "$ldflags" .
go build -o "$tmp/kubectl" -ldflags "$ldflags" k8s.io/kubernetes/cmd/kubectl
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
# Builds for older sources are unreachable; drop them once a day old (running clusters may still use them).
find "$repo/.cache/controlplane" -mindepth 1 -maxdepth 1 -type d -mmin +1440 ! -name "$key" ! -name '.build.*' -exec rm -rf {} +
echo "build.sh: built in $((SECONDS - start))s" >&2
echo "$out"
