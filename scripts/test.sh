#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test, then builds the fuzz
# targets (tests/fuzz) with clang in a second build directory and runs each for a short,
# bounded time. Exits non-zero if either ctest failed.
#   OBSERVER_BUILD_DIR  build directory (default: build-test, with the failpoints compiled in;
#                       the quick start's build has none); the fuzz build is "$dir-fuzz"
#   OBSERVER_JOBS       parallel build jobs (default: number of CPUs)
#   OBSERVER_FUZZ       0 skips the fuzz step (default: 1)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir="${OBSERVER_BUILD_DIR:-build-test}"
jobs="${OBSERVER_JOBS:-$(nproc)}"

bash scripts/deps.sh
cmake -S . -B "$build_dir" -DOBSERVER_FAILPOINTS=ON
cmake --build "$build_dir" -j "$jobs"
status=0
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" || status=$?

# Fuzzing: the ASan+UBSan libFuzzer targets, each over its corpus once, then for 20 s.
if [[ "${OBSERVER_FUZZ:-1}" != 0 ]]; then
  fuzz_dir="${build_dir}-fuzz"
  CC=clang CXX=clang++ cmake -S . -B "$fuzz_dir" -DCMAKE_CXX_COMPILER=clang++ \
    -DOBSERVER_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
  cmake --build "$fuzz_dir" -j "$jobs" --target observer_fuzz_targets
  ctest --test-dir "$fuzz_dir" --output-on-failure -j "$jobs" -L fuzz || status=$?
fi
exit "$status"
