#!/usr/bin/env bash
# Checks the Kubernetes manifests in deploy/kubernetes without a cluster (ctest
# KubernetesDeployFiles, label deploy):
#   - every document validates against the Kubernetes OpenAPI schemas (npm kubernetes-models)
#     or, for the ServiceMonitors, the Prometheus Operator's CRD schemas
#     (@kubernetes-models/prometheus-operator); an unknown apiVersion/kind is an error;
#   - no field is unknown to its schema (a misspelt field), through TypeScript's check of each
#     document as an object literal of the model's declared type;
#   - what the schemas cannot say: flags and REGISTRY_* / STATS_* / OBSERVERCTL_* variables
#     that the binaries' --help lists, ports, probes, selectors, references, security context,
#     grace period (tests/deploy/kubernetes/check.mjs says which).
# The npm packages are pinned by tests/deploy/kubernetes/package-lock.json and installed with
# `npm ci` into NODE_DIR in the build tree (not the source tree), once per lock file. Without
# node/npm or the npm registry this skips (exit 77), unless CI is set: then it fails.
#   check_kubernetes.sh NODE_DIR REGISTRY_SERVICE_BINARY STATS_SERVICE_BINARY OBSERVERCTL_BINARY
set -euo pipefail

if [[ $# -ne 4 ]]; then
  echo "usage: $0 NODE_DIR REGISTRY_SERVICE_BINARY STATS_SERVICE_BINARY OBSERVERCTL_BINARY" >&2
  exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/tests/deploy/kubernetes"
node_dir="$1"
registry_binary="$2"
stats_binary="$3"
observerctl_binary="$4"
for b in "$registry_binary" "$stats_binary" "$observerctl_binary"; do
  [[ -x "$b" ]] || { echo "check_kubernetes: $b is not an executable (build it first)" >&2; exit 1; }
done

# Without the tools or the registry: skip (77, ctest's SKIP_RETURN_CODE) on a developer's
# machine, fail under CI, where the check must run.
cannot_run() {
  if [[ -n "${CI:-}" ]]; then
    echo "check_kubernetes: FAIL: $1 (CI is set: the Kubernetes manifests must be checked)" >&2
    exit 1
  fi
  echo "check_kubernetes: SKIP: $1"
  exit 77
}
command -v node >/dev/null || cannot_run "node is not installed (Node.js 18 or later)"
command -v npm >/dev/null || cannot_run "npm is not installed"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[[ "$node_major" -ge 18 ]] || cannot_run "node $(node --version) is too old (18 or later)"

# Install the pinned packages when the lock file changed (or nothing is installed yet). The
# stamp, a copy of the lock file written after a successful install, says which is installed.
mkdir -p "$node_dir"
stamp="$node_dir/installed-package-lock.json"
if ! cmp -s "$here/package-lock.json" "$stamp" || ! cmp -s "$here/package.json" "$node_dir/package.json" \
   || [[ ! -d "$node_dir/node_modules" ]]; then
  if ! timeout 60 npm ping --fetch-retries=1 --fetch-timeout=20000 >"$node_dir/npm-ping.log" 2>&1; then
    cat "$node_dir/npm-ping.log" >&2
    cannot_run "the npm registry is unreachable (npm ping failed; see above)"
  fi
  rm -rf "$node_dir/node_modules" "$stamp"
  cp "$here/package.json" "$here/package-lock.json" "$node_dir/"
  echo "check_kubernetes: npm ci into $node_dir"
  if ! timeout 600 npm ci --prefix "$node_dir" --no-audit --no-fund --ignore-scripts \
       >"$node_dir/npm-ci.log" 2>&1; then
    echo "check_kubernetes: FAIL: npm ci of tests/deploy/kubernetes/package-lock.json failed:" >&2
    cat "$node_dir/npm-ci.log" >&2
    exit 1
  fi
  cp "$here/package-lock.json" "$stamp"
fi

exec node "$here/check.mjs" \
  --modules "$node_dir/node_modules" \
  --manifests "$root/deploy/kubernetes" \
  --registry-service "$registry_binary" \
  --stats-service "$stats_binary" \
  --observerctl "$observerctl_binary"
