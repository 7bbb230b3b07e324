#!/usr/bin/env bash
# systemd-analyze verify on the units in deploy/systemd, with ExecStart pointed at the binaries
# just built (given as arguments). Any finding, even a warning such as an unknown key, fails.
#   check_systemd.sh REGISTRY_SERVICE_BINARY STATS_SERVICE_BINARY
set -euo pipefail
units="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../deploy/systemd" && pwd)"
registry_binary="$1"
stats_binary="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sed "s|/usr/local/bin/registry-service|$registry_binary|" "$units/observer-registry.service" \
  > "$work/observer-registry.service"
sed "s|/usr/local/bin/stats-service|$stats_binary|" "$units/observer-stats.service" \
  > "$work/observer-stats.service"
rc=0
output="$(systemd-analyze verify "$work/observer-registry.service" \
  "$work/observer-stats.service" 2>&1)" || rc=$?
if [[ $rc -ne 0 || -n "$output" ]]; then
  echo "systemd-analyze verify found problems (exit code $rc):" >&2
  echo "$output" >&2
  exit 1
fi
echo "both units verified"
