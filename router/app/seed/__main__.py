"""`python -m app.seed [--json]`: the demo company in the database of `DATABASE_URL` (else
router/data/router.db), its schema brought to the newest first, as the router does at start.

Prints the demo's owner and agent keys; `--json` prints them with the numbers the Simulator must
play (tokens included) for `scripts/demo.sh`, and nothing else on stdout.
"""

import argparse
import asyncio
import json
import sys
from typing import Any

import structlog

from app.core.engine import create_engine, migrate, session_factory
from app.core.errors import RouterError
from app.secrets.start import open_secrets
from app.seed.content import AGENT, CONVERSATIONS, MEMBERS, OWNER, TENANT, WABA_ID, WEB_CHAT
from app.seed.demo import Seeded, seed_demo
from app.settings import KeyRingSettings, SettingsError, tool_settings


async def run(url: str, keys: KeyRingSettings) -> Seeded:
    engine = create_engine(url)
    try:
        # The router's key ring: the demo's tokens are stored encrypted as the router's are.
        await open_secrets(keys, engine)
        await migrate(engine)
        async with session_factory(engine)() as session:
            return await seed_demo(session)
    finally:
        await engine.dispose()


def simulator_businesses(seeded: Seeded) -> list[dict[str, str]]:
    """`SIMULATOR_BUSINESSES` for the demo's numbers (the Simulator wants the display digits)."""
    return [
        {
            "phone_number_id": c.number.phone_number_id,
            "display_phone_number": c.number.display_phone_number.lstrip("+"),
            "access_token": c.access_token,
            "waba_id": WABA_ID,
            "name": c.number.verified_name,
        }
        for c in seeded.channels
    ]


def inbound_curl(seeded: Seeded, base_url: str = "http://127.0.0.1:8000") -> str:
    """A copy-pasteable `curl` that writes to the demo's `api` channel as a customer would."""
    body = {
        "company_id": seeded.tenant_id,
        "channel_id": seeded.api_channel_id,
        "from": "+15550009876",
        "text": "Hello from the web chat",
        "channel_message_id": "web-chat-1",
    }
    return (
        f"curl -X POST {base_url}/webhooks/inbound -H 'X-API-Key: {seeded.agent_key}' "
        f"-H 'Content-Type: application/json' -d '{json.dumps(body)}'"
    )


def as_json(seeded: Seeded) -> dict[str, Any]:
    return {
        "tenant_id": seeded.tenant_id,
        "owner_key": seeded.owner_key,
        "agent_key": seeded.agent_key,
        "api_channel_id": seeded.api_channel_id,
        "inbound_curl": inbound_curl(seeded),
        "simulator_businesses": simulator_businesses(seeded),
    }


def as_text(seeded: Seeded) -> str:
    numbers = ", ".join(
        f"{c.number.name} {c.number.display_phone_number} (phone_number_id "
        f"{c.number.phone_number_id})"
        for c in seeded.channels
    )
    people = ", ".join(f"{m.name} ({m.role})" for m in MEMBERS)
    made = "; ".join(seeded.made) if seeded.made else "nothing, it was all there already"
    return (
        f"==> {TENANT} (tenant {seeded.tenant_id})\n"
        f"    numbers: {numbers}\n"
        f"    members: {people}\n"
        f"    {len(CONVERSATIONS)} conversations with history, one of them owned by {AGENT.name}\n"
        f"    made by this run: {made}\n\n"
        f"    owner key (acts as {OWNER.name}): {seeded.owner_key}\n"
        f"    agent key (acts as {AGENT.name}): {seeded.agent_key}\n\n"
        "    Keys are shown once: seeding again revokes these two and prints new ones.\n"
        "    Try: curl -H 'X-API-Key: <agent key>' http://127.0.0.1:8000/api/v1/conversations\n\n"
        f"    The api channel {WEB_CHAT!r} (channel {seeded.api_channel_id}) takes messages from\n"
        "    another system; with the router running, write to it as a customer would (the\n"
        "    answer names the conversation, the bot's reply is in its messages):\n"
        f"    {inbound_curl(seeded)}\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m app.seed", description=__doc__)
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the keys and the Simulator's SIMULATOR_BUSINESSES (with tokens) as JSON",
    )
    arguments = parser.parse_args()
    # Log lines (where the key file is) on stderr: stdout is the keys, or the JSON.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    try:
        settings = tool_settings()
        seeded = asyncio.run(run(settings.database_url, settings))
    except RouterError as exc:
        print(f"The demo was not seeded: {exc.message}", file=sys.stderr)
        return 1
    except SettingsError as exc:
        print(f"The demo was not seeded: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(as_json(seeded)) if arguments.json else as_text(seeded))
    return 0


if __name__ == "__main__":
    sys.exit(main())
