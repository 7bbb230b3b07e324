#!/usr/bin/env bash
# Installs the Debian 12 packages that building, running and testing the Observer Registry
# need, and only those that are missing. Runs apt-get only when something is missing; needs
# root for that (or sudo).
#   scripts/deps.sh               every package: build, tests, deploy checks
#   scripts/deps.sh --build-only  only what compiling registry-service, stats-service and
#                                 observerctl needs (the container build, deploy/docker)
set -euo pipefail

build_only=0
case "${1:-}" in
  "") ;;
  --build-only) build_only=1 ;;
  *)
    echo "usage: $0 [--build-only]" >&2
    exit 2
    ;;
esac

# Compiling the three binaries. GTest/GMock because CMake requires them at configure time; git
# for the source revision the build embeds (git describe; without git it is "unknown");
# iso-codes and tzdata are the data the binaries read when they run.
# libpq-dev is the PostgreSQL client library (libpq) and its headers.
build_packages=(
  cmake make g++ pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  prometheus-cpp-dev libcivetweb-dev zlib1g-dev libcurl4-openssl-dev
  libsqlite3-dev libgtest-dev libgmock-dev libicu-dev iso-codes tzdata libjemalloc-dev
  libpq-dev
)
# Only the google/rpc .proto files are needed from this one, not the Go toolchain it recommends.
build_no_recommends=(golang-github-gogo-googleapis-dev)
# Running and testing, on top of the build packages. clang and libclang-rt-14-dev (libFuzzer
# and the sanitizer runtimes) build and run the fuzz targets (tests/fuzz, OBSERVER_FUZZ).
# etcd-server (3.4) is the baseline the benchmarks compare durable creates against
# (tools/loadgen/etcd starts it as a throwaway process on free loopback ports, never as a service).
# libbenchmark-dev (Google Benchmark) builds the microbenchmarks (bench/micro).
# postgresql-15 is the server the PostgreSQL store is tested against (tests/harness/
# postgres_cluster.h runs initdb and postgres from /usr/lib/postgresql/15/bin as throwaway
# processes on free loopback ports, never as a service; see below for the package's own cluster).
test_packages=(
  sqlite3 python3 openssl systemd clang libclang-rt-14-dev etcd-server libbenchmark-dev
  postgresql-15
)
# prometheus brings promtool, for the metrics and alert-rule tests; docker-compose (1.29, about
# 5 MB without the Docker engine it recommends) validates deploy/docker/compose.yaml.
test_no_recommends=(prometheus docker-compose)

packages=("${build_packages[@]}")
no_recommends=("${build_no_recommends[@]}")
if [[ $build_only -eq 0 ]]; then
  packages+=("${test_packages[@]}")
  no_recommends+=("${test_no_recommends[@]}")
fi

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
# Installing postgresql-15 would also create and start a system cluster "main" on port 5432,
# which the tests never use. On a machine without PostgreSQL yet (no postgresql-common), install
# postgresql-common first and switch that off in its createcluster.conf (as the official
# PostgreSQL Docker images do); an existing PostgreSQL setup is left as it is.
if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && ! installed postgresql-common; then
  "${sudo[@]}" apt-get install -y postgresql-common
  "${sudo[@]}" sed -ri 's/^#?[[:space:]]*create_main_cluster[[:space:]]*=.*$/create_main_cluster = false/' \
    /etc/postgresql-common/createcluster.conf
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  "${sudo[@]}" apt-get install -y "${missing[@]}"
fi
if [[ ${#missing_nr[@]} -gt 0 ]]; then
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing_nr[@]}"
fi
