#!/usr/bin/env bash
# Fetches the CRDs of prometheus-operator (monitoring.coreos.com) and grafana-operator v5
# (grafana.integreatly.org) through the Go module proxy and copies them to
#   .cache/tools/crds/prometheus-operator/*.yaml
#   .cache/tools/crds/grafana-operator/*.yaml
# Tests install them to check that rendered ServiceMonitors, PrometheusRules and Grafana objects are accepted by
# the real schemas (test/support/third-party-crds.ts). Idempotent; prints one line. Nothing here is committed.
#
# Versions are pinned. grafana-operator: the proxy refuses to list the module's versions and serves only some of
# them; v5.18.0 is one it serves (checked with `go mod download -json github.com/grafana/grafana-operator/v5@...`).
set -euo pipefail

prometheus_operator_version="v0.85.0"
grafana_operator_version="v5.18.0"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$repo/.cache/tools/crds"
stamp="$out/.versions"
wanted="prometheus-operator@$prometheus_operator_version grafana-operator@$grafana_operator_version"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
  echo "third-party CRDs: $wanted in $out (cached)"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "third-party-crds.sh: 'go' not found on PATH; it fetches the CRDs through the Go module proxy" >&2
  exit 1
fi

# The module's extracted directory, from `go mod download -json` (run outside any module).
module_dir() {
  local json
  json="$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "$1")" || {
    echo "third-party-crds.sh: go mod download $1 failed:" >&2
    echo "$json" >&2
    exit 1
  }
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json"
}

copy_crds() {
  local from="$1" to="$2"
  if ! compgen -G "$from/*.yaml" >/dev/null; then
    echo "third-party-crds.sh: no CRD YAML files in $from" >&2
    exit 1
  fi
  rm -rf "$to.tmp"
  mkdir -p "$to.tmp"
  cp "$from"/*.yaml "$to.tmp/"
  chmod u+w "$to.tmp"/*.yaml
  rm -rf "$to"
  mv "$to.tmp" "$to"
}

mkdir -p "$out"
prometheus_dir="$(module_dir "github.com/prometheus-operator/prometheus-operator@$prometheus_operator_version")"
grafana_dir="$(module_dir "github.com/grafana/grafana-operator/v5@$grafana_operator_version")"
copy_crds "$prometheus_dir/example/prometheus-operator-crd" "$out/prometheus-operator"
copy_crds "$grafana_dir/config/crd/bases" "$out/grafana-operator"
echo "$wanted" >"$stamp"
echo "third-party CRDs: $wanted in $out"
