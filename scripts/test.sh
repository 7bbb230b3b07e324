#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test. Exits with ctest's code.
#   OBSERVER_BUILD_DIR  build directory (default: build)
#   OBSERVER_JOBS       parallel build jobs (default: number of CPUs)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir="${OBSERVER_BUILD_DIR:-build}"
jobs="${OBSERVER_JOBS:-$(nproc)}"

bash scripts/deps.sh
cmake -S . -B "$build_dir"
cmake --build "$build_dir" -j "$jobs"
exec ctest --test-dir "$build_dir" --output-on-failure -j "$jobs"
