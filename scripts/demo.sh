#!/usr/bin/env bash
# Usage: scripts/demo.sh   (`make demo`)
# The whole system on this machine, no Meta account and no .env needed: the Server, the Router and
# the Simulator (the local stand-in for Meta's Cloud API), wired to each other, with secrets made up
# for this run. The router's store is seeded with the demo company first (router/app/seed/), whose
# two numbers the Simulator plays beside the default one. Prints the chat page's address, the
# inbox's beside it with an agent's key, and the keys once all three answer /health; Ctrl-C stops
# them all (scripts/run-local.sh does the running and the stopping).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD

# Everything the demo relies on is exported: exported variables win over a .env at the repo root,
# so a .env written for the real Cloud API cannot point the demo elsewhere.
secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }
export WHATSAPP_PHONE_NUMBER_ID=1122334455667
WHATSAPP_ACCESS_TOKEN=$(secret)
WHATSAPP_APP_SECRET=$(secret)
WHATSAPP_WEBHOOK_VERIFY_TOKEN=$(secret)
ROUTER_ADMIN_API_KEY=$(secret)
export WHATSAPP_ACCESS_TOKEN WHATSAPP_APP_SECRET WHATSAPP_WEBHOOK_VERIFY_TOKEN ROUTER_ADMIN_API_KEY
export WHATSAPP_GRAPH_API_URL=http://127.0.0.1:8002
export SIMULATOR_WEBHOOK_URL=http://127.0.0.1:8000/webhook
export SERVER_BASE_URL=http://127.0.0.1:8001
export DATABASE_URL="sqlite+aiosqlite:///$root/router/data/demo.db"
export QUEUE_URL=memory://
# Customers' and agents' files go to a directory of this run's own, in the system's temporary
# folder (the files of an earlier run's messages then answer 404 "gone from the media store").
ROUTER_MEDIA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/router-demo-media.XXXXXX")
export ROUTER_MEDIA_DIR
export ROUTER_MIGRATE_ON_START=true
export ROUTER_ALLOW_UNSIGNED_WEBHOOKS=false

# A port already taken would stop the demo with a bind error among the logs; say it plainly first.
for port in 8000 8001 8002; do
    if python3 -c "import socket, sys; sys.exit(socket.socket().connect_ex(('127.0.0.1', $port)) != 0)"; then
        echo "Port $port is in use (make run or another demo?): stop that first." >&2
        exit 1
    fi
done

# The demo company, before the router starts (the seed brings the schema to the newest first, so
# the two never migrate at once). Its answer holds the two keys and the demo's numbers with their
# tokens, which the Simulator must play: they go into variables and the services' environment,
# never on screen but for the keys.
echo "==> demo: seeding the demo company (router/app/seed/; the first run installs its packages)"
uv=$(scripts/uv.sh)
seeded=$(cd router && UV_PYTHON_DOWNLOADS=never "$uv" run --locked python -m app.seed --json)
{ read -r DEMO_OWNER_KEY && read -r DEMO_AGENT_KEY && read -r SIMULATOR_BUSINESSES \
    && read -r DEMO_INBOUND_CURL; } < <(
    python3 -c 'import json, sys; s = json.load(sys.stdin); print(s["owner_key"], s["agent_key"], json.dumps(s["simulator_businesses"]), s["inbound_curl"], sep="\n")' <<<"$seeded"
)
export SIMULATOR_BUSINESSES

# Waits in the background for the three services, then says where to go. It stops by itself when
# the services stop (Ctrl-C before they are up included), so nothing outlives the demo.
announce() {
    DEMO_OWNER_KEY=$DEMO_OWNER_KEY DEMO_AGENT_KEY=$DEMO_AGENT_KEY \
        DEMO_INBOUND_CURL=$DEMO_INBOUND_CURL python3 - "$$" <<'PY'
import os, sys, time, urllib.request

parent = int(sys.argv[1])
urls = ["http://127.0.0.1:8001/health", "http://127.0.0.1:8000/health", "http://127.0.0.1:8002/health"]


def healthy(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def alive():
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        return False
    return True


while alive():
    if all(healthy(url) for url in urls):
        key = os.environ["ROUTER_ADMIN_API_KEY"]
        owner, agent = os.environ["DEMO_OWNER_KEY"], os.environ["DEMO_AGENT_KEY"]
        print(
            "\n==> The demo is up. Open the chat page and write to the bot:\n"
            "\n        http://127.0.0.1:8002/\n\n"
            "    It plays three business numbers: the default one, answered by the bot, and the\n"
            "    demo company's Sales and Support.\n"
            "    Beside it, the agents' inbox: sign in with the agent key (Support Agent 1), write to\n"
            "    Sales or Support on the chat page; take the conversation over, answer, give it back:\n"
            "\n        http://127.0.0.1:8000/inbox\n"
            f"        agent key: {agent}\n\n"
            "    The router's management API takes this run's admin key:\n"
            f"        curl -H 'X-API-Key: {key}' http://127.0.0.1:8000/api/v1/messages\n"
            "    and the demo company's keys, new each run (docs/platform.md: \"Try the platform\"):\n"
            f"        owner key: {owner}\n"
            f"        agent key: {agent}\n"
            f"        curl -H 'X-API-Key: {agent}' http://127.0.0.1:8000/api/v1/conversations\n"
            "    Write to the demo company's api channel (Web chat) as another system would:\n"
            f"        {os.environ['DEMO_INBOUND_CURL']}\n"
            "    API docs: http://127.0.0.1:8000/docs (router), http://127.0.0.1:8002/docs (simulator)\n"
            "    Ctrl-C stops all three.\n",
            flush=True,
        )
        break
    time.sleep(0.5)
PY
}
announce &

echo "==> demo: server, router and simulator, wired together (the first run installs their packages)"
exec scripts/run-local.sh server router simulator
