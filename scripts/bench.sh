#!/usr/bin/env bash
# The bench command: installs what is missing, builds the benchmark suite and the binaries it
# starts (Release, as the quick start), and runs it: echo-server, registry-service with a fresh
# store, stats-service and a throwaway etcd on loopback, every scenario of the performance
# targets in one run. The report goes to build/bench/ (report.json, report.md); the Markdown
# table is also printed. The full run fills a register of 1,000,000 observers, which takes
# minutes; --smoke runs every step with tiny sizes in seconds.
#   bash scripts/bench.sh                  # the full suite
#   bash scripts/bench.sh --smoke          # the quick version
#   bash scripts/bench.sh --only echo,create,etcd --seconds 20
# Every other flag goes to observer-bench (build/tools/bench/observer-bench --help).
#   OBSERVER_BUILD_DIR  build directory (default: build)
#   OBSERVER_JOBS       parallel build jobs (default: number of CPUs)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir="${OBSERVER_BUILD_DIR:-build}"
jobs="${OBSERVER_JOBS:-$(nproc)}"

# The report's directory: build/bench unless --out-dir is given.
out_dir="$build_dir/bench"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --out-dir=* | --out_dir=*) out_dir="${args[$i]#*=}" ;;
    --out-dir | --out_dir) out_dir="${args[$((i + 1))]:-$out_dir}" ;;
  esac
done

bash scripts/deps.sh
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DOBSERVER_FAILPOINTS=OFF
# observer-bench depends on every binary it starts (registry-service, stats-service,
# echo-server, observerctl, observer-populate): building it builds them.
cmake --build "$build_dir" -j "$jobs" --target observer-bench

rc=0
"$build_dir/tools/bench/observer-bench" --out-dir "$build_dir/bench" "$@" || rc=$?
if [[ -f "$out_dir/report.md" ]]; then
  echo
  echo "report: $out_dir/report.md (table) and $out_dir/report.json (every figure)"
fi
if [[ $rc -ne 0 ]]; then
  echo "observer-bench could not run the whole suite (exit code $rc); see the messages above" >&2
fi
exit "$rc"
