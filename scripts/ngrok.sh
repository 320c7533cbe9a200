#!/usr/bin/env bash
# Usage: scripts/ngrok.sh   (`make ngrok`)
# Tells how to put the router (port 8000) on a public HTTPS address for Meta's webhook, and starts
# ngrok when it is installed. Meta only calls https URLs, and never localhost.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${ROUTER_PORT:-8000}
token=$(grep -E '^[[:space:]]*(export[[:space:]]+)?WHATSAPP_WEBHOOK_VERIFY_TOKEN[[:space:]]*=' .env 2>/dev/null \
    | tail -n 1 | sed -E 's/^[^=]*=[[:space:]]*//; s/^"(.*)"$/\1/; s/^'"'"'(.*)'"'"'$/\1/') || true

cat <<TEXT
To receive WhatsApp webhooks, expose the router (it must be running: make run, or make up):

  1. ngrok http $port
  2. Take the https Forwarding address ngrok prints, e.g. https://<id>.ngrok-free.app
  3. In Meta's dashboard (your app > WhatsApp > Configuration > Webhook > Edit), paste:
       Callback URL:  https://<id>.ngrok-free.app/webhook
       Verify token:  ${token:-<WHATSAPP_WEBHOOK_VERIFY_TOKEN from .env: not set yet>}
  4. Verify and save, then subscribe to the "messages" webhook field.

The free ngrok address changes each time ngrok starts: paste the new one after a restart.
TEXT

if command -v ngrok >/dev/null 2>&1; then
    echo
    echo "==> ngrok http $port"
    exec ngrok http "$port"
fi
echo
echo "ngrok is not installed here: see https://ngrok.com/download, then run make ngrok again."
