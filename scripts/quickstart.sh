#!/usr/bin/env bash
# Quick start: installs what is missing, builds, starts registry-service on loopback with the
# embedded SQLite store, loads the example data set (Kazakhstan, 10 Jan 2021), prints the
# breakdowns and keeps serving until Ctrl-C.
#   OBSERVER_STATE_DIR  where the database and log live (default: ./.observer-state)
#   OBSERVER_BUILD_DIR  build directory (default: build)
#   OBSERVER_JOBS       parallel build jobs (default: number of CPUs)
#   REGISTRY_LISTEN     gRPC address of registry-service (default: 127.0.0.1:50051)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir="${OBSERVER_BUILD_DIR:-build}"
jobs="${OBSERVER_JOBS:-$(nproc)}"
listen="${REGISTRY_LISTEN:-127.0.0.1:50051}"
state_dir="${OBSERVER_STATE_DIR:-./.observer-state}"

bash scripts/deps.sh
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir" -j "$jobs" --target registry-service observer-load-example

mkdir -p "$state_dir"
state_dir="$(cd "$state_dir" && pwd)"
log="$state_dir/registry-service.log"

registry_pid=""
interrupted=0
alive() { [[ -n "$registry_pid" ]] && kill -0 "$registry_pid" 2>/dev/null; }
# Waits up to $1 tenths of a second for registry-service to exit.
wait_exit() {
  for _ in $(seq 1 "$1"); do
    alive || return 0
    sleep 0.1
  done
  ! alive
}
stop() {
  if alive; then
    # Ctrl-C reaches registry-service too (it drains on SIGINT); a second signal would make
    # it skip the drain, so give it a moment to go by itself before asking.
    if [[ $interrupted -eq 0 ]] || ! wait_exit 30; then
      echo "stopping registry-service (pid $registry_pid)"
      kill -TERM "$registry_pid" 2>/dev/null || true
    fi
    if ! wait_exit 200; then
      echo "registry-service did not stop in 20 s; killing it" >&2
      kill -KILL "$registry_pid" 2>/dev/null || true
    fi
    wait "$registry_pid" 2>/dev/null || true
    echo "registry-service stopped"
  fi
  registry_pid=""
}
trap stop EXIT
trap 'interrupted=1; exit 130' INT
trap 'exit 143' TERM

touch "$log"
log_start=$(wc -l <"$log")
"$build_dir/registry-service/registry-service" --listen "$listen" \
  --store "sqlite://$state_dir/registry.db" >>"$log" 2>&1 &
registry_pid=$!
echo "registry-service started (pid $registry_pid), listening on $listen, log $log"

# Wait until it says it is serving (or dies); observer-load-example waits for the port too.
for _ in $(seq 1 300); do
  if ! kill -0 "$registry_pid" 2>/dev/null; then
    echo "registry-service exited during start-up; last lines of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  tail -n +"$((log_start + 1))" "$log" | grep '"msg":"serving"' >/dev/null && break
  sleep 0.1
done

"$build_dir/tools/example-data/observer-load-example" --registry "$listen" --wait 30

echo
echo "registry-service is serving on $listen (store $state_dir/registry.db, log $log)."
echo "Press Ctrl-C to stop."
rc=0
wait "$registry_pid" || rc=$?
registry_pid=""
if [[ $rc -ne 0 ]]; then
  echo "registry-service exited with code $rc; last lines of $log:" >&2
  tail -n 20 "$log" >&2
  exit "$rc"
fi
echo "registry-service stopped"
