#!/usr/bin/env bash
# Quick start: installs what is missing, builds, starts registry-service (embedded SQLite store)
# and stats-service on loopback, loads the example data set (Kazakhstan, 10 Jan 2021) into a
# fresh store, prints the summary and the breakdowns by organisation, region and country as
# stats-service computes them from the change stream, and keeps both serving until Ctrl-C.
#   OBSERVER_STATE_DIR  where the database and logs live (default: ./.observer-state)
#   OBSERVER_BUILD_DIR  build directory (default: build)
#   OBSERVER_JOBS       parallel build jobs (default: number of CPUs)
#   REGISTRY_LISTEN     gRPC address of registry-service (default: 127.0.0.1:50051)
#   STATS_LISTEN        gRPC address of stats-service (default: 127.0.0.1:50052)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir="${OBSERVER_BUILD_DIR:-build}"
jobs="${OBSERVER_JOBS:-$(nproc)}"
registry_listen="${REGISTRY_LISTEN:-127.0.0.1:50051}"
stats_listen="${STATS_LISTEN:-127.0.0.1:50052}"
state_dir="${OBSERVER_STATE_DIR:-./.observer-state}"

bash scripts/deps.sh
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DOBSERVER_FAILPOINTS=OFF
cmake --build "$build_dir" -j "$jobs" --target registry-service stats-service \
  observer-load-example observerctl

mkdir -p "$state_dir"
state_dir="$(cd "$state_dir" && pwd)"
# A fresh store each time, so that the figures are exactly the example data set's.
rm -f "$state_dir/registry.db" "$state_dir/registry.db-wal" "$state_dir/registry.db-shm"

declare -A pids=()  # name → pid
interrupted=0
alive() { [[ -n "${pids[$1]:-}" ]] && kill -0 "${pids[$1]}" 2>/dev/null; }
# Waits up to $2 tenths of a second for service $1 to exit.
wait_exit() {
  for _ in $(seq 1 "$2"); do
    alive "$1" || return 0
    sleep 0.1
  done
  ! alive "$1"
}
stop_one() {
  local name="$1"
  if alive "$name"; then
    # Ctrl-C reaches the services too (they drain on SIGINT); a second signal would make
    # them skip the drain, so give them time to go by themselves (the drain, 1 s, plus up to
    # 2 s for the metrics endpoint) before asking.
    if [[ $interrupted -eq 0 ]] || ! wait_exit "$name" 80; then
      echo "stopping $name (pid ${pids[$name]})"
      kill -TERM "${pids[$name]}" 2>/dev/null || true
    fi
    if ! wait_exit "$name" 200; then
      echo "$name did not stop in 20 s; killing it" >&2
      kill -KILL "${pids[$name]}" 2>/dev/null || true
    fi
    wait "${pids[$name]}" 2>/dev/null || true
    echo "$name stopped"
  fi
  unset "pids[$name]"
}
# stats-service first: it follows the registry.
stop() {
  stop_one stats-service
  stop_one registry-service
}
trap stop EXIT
trap 'interrupted=1; exit 130' INT
trap 'exit 143' TERM

# Starts service $1 (binary $2, further arguments after) with its log in the state directory
# and waits until it says it is serving.
start() {
  local name="$1" binary="$2"
  shift 2
  local log="$state_dir/$name.log"
  touch "$log"
  local log_start
  log_start=$(wc -l <"$log")
  "$binary" "$@" >>"$log" 2>&1 &
  pids[$name]=$!
  echo "$name started (pid ${pids[$name]}), log $log"
  for _ in $(seq 1 300); do
    if ! alive "$name"; then
      echo "$name exited during start-up; last lines of $log:" >&2
      tail -n 20 "$log" >&2
      exit 1
    fi
    tail -n +"$((log_start + 1))" "$log" | grep '"msg":"serving"' >/dev/null && return 0
    sleep 0.1
  done
  echo "$name did not start serving in 30 s; last lines of $log:" >&2
  tail -n 20 "$log" >&2
  exit 1
}

# A loopback demo: plaintext, no client certificates (--insecure-loopback refuses any other
# address). Production runs with mutual TLS and a policy: see the README's security section.
start registry-service "$build_dir/registry-service/registry-service" --insecure-loopback \
  --listen "$registry_listen" --store "sqlite://$state_dir/registry.db"
start stats-service "$build_dir/stats-service/stats-service" --insecure-loopback \
  --listen "$stats_listen" --registry "$registry_listen" \
  --region-schemes data/region-schemes/kz2021-article.scheme

"$build_dir/tools/example-data/observer-load-example" --registry "$registry_listen" \
  --stats "$stats_listen" --wait 30

echo
echo "registry-service is serving on $registry_listen (store $state_dir/registry.db)."
echo "stats-service is serving on $stats_listen."
echo "Logs are in $state_dir. Press Ctrl-C to stop."
echo "Explore with observerctl, e.g.:"
echo "  $build_dir/tools/observerctl/observerctl --registry $registry_listen --stats $stats_listen \\"
echo "      breakdown --election kz-2021-majilis --by country --top 10"
rc=0
wait -n "${pids[registry-service]}" "${pids[stats-service]}" || rc=$?
for name in registry-service stats-service; do
  if ! alive "$name" && [[ -n "${pids[$name]:-}" ]]; then
    echo "$name exited (code $rc); last lines of $state_dir/$name.log:" >&2
    tail -n 20 "$state_dir/$name.log" >&2
    unset "pids[$name]"
  fi
done
exit "$rc"
