#!/usr/bin/env bash
# Installs the Debian 12 packages that building, running and testing the Observer Registry
# need, and only those that are missing. Runs apt-get only when something is missing; needs
# root for that (or sudo).
set -euo pipefail

packages=(
  cmake make g++ pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  prometheus-cpp-dev libcivetweb-dev zlib1g-dev libcurl4-openssl-dev
  libsqlite3-dev libgtest-dev libgmock-dev libicu-dev iso-codes tzdata
  sqlite3 python3 openssl systemd
)
# Only the google/rpc .proto files are needed from the first, not the Go toolchain it
# recommends; prometheus brings promtool, for the metrics and alert-rule tests.
no_recommends=(golang-github-gogo-googleapis-dev prometheus)

installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == "installed" ]]
}

missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
missing_nr=()
for p in "${no_recommends[@]}"; do installed "$p" || missing_nr+=("$p"); done

if [[ ${#missing[@]} -eq 0 && ${#missing_nr[@]} -eq 0 ]]; then
  echo "deps: all packages installed"
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "deps: missing packages: ${missing[*]} ${missing_nr[*]}" >&2
  echo "deps: run this script as root (or install sudo) to install them" >&2
  exit 1
fi

echo "deps: installing ${missing[*]} ${missing_nr[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
if [[ ${#missing[@]} -gt 0 ]]; then
  "${sudo[@]}" apt-get install -y "${missing[@]}"
fi
if [[ ${#missing_nr[@]} -gt 0 ]]; then
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing_nr[@]}"
fi
