#!/usr/bin/env bash
# Usage: scripts/run-local.sh SERVICE...   (from the repo root; `make run` passes the services)
# Runs each service with `uv run uvicorn app.main:app` from its folder, its output prefixed with its
# name. Ctrl-C (or any one service exiting) stops them all: each runs in its own process group,
# and the whole group is signalled, so no uvicorn outlives this script.
set -euo pipefail
set -m # job control: every background job gets its own process group

cd "$(dirname "$0")/.."
uv=$(scripts/uv.sh)
export UV_PYTHON_DOWNLOADS=never PYTHONUNBUFFERED=1

port_of() {
    case $1 in
        router) echo 8000 ;;
        server) echo 8001 ;;
        simulator) echo 8002 ;;
        *) echo "unknown service: $1" >&2; exit 2 ;;
    esac
}

# The router finds the local Server unless the environment or .env says otherwise (an exported
# default would override .env, so only set it when neither has one).
if [[ -z ${SERVER_BASE_URL:-} ]] && ! grep -qE '^[[:space:]]*(export[[:space:]]+)?SERVER_BASE_URL[[:space:]]*=[[:space:]]*[^[:space:]#]' .env 2>/dev/null; then
    export SERVER_BASE_URL=http://127.0.0.1:8001
fi

pids=()
stop() {
    trap - INT TERM EXIT
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    # uvicorn shuts down gracefully on SIGTERM; give it a moment, then make sure.
    for _ in {1..50}; do
        alive=0
        for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
        (( alive )) || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
}
trap 'echo "==> stopping"; stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

for service in "$@"; do
    port=$(port_of "$service")
    echo "==> $service on http://127.0.0.1:$port"
    (cd "$service" && exec "$uv" run --locked uvicorn app.main:app --host 127.0.0.1 --port "$port") \
        > >(trap "" INT TERM; exec sed -u "s/^/[$service] /") 2>&1 &
    pids+=("$!")
done
echo "==> Ctrl-C stops them all"

# Whichever service stops first (a crash, a missing setting) takes the others down with it.
status=0
wait -n "${pids[@]}" || status=$?
echo "==> a service stopped (exit $status): stopping the others"
exit "$status"
