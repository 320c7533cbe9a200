"""A message the bot does not answer says how it ended on the event stream (`message.status`):
the inbox marks a message kept for a member, or a blocked contact's, the moment it is decided."""

import asyncio

from ..conftest import ADMIN_KEY, APP_SECRET
from ..events_client import sse
from ..meta import WA_ID, signed, text_message
from .test_events import client_of, served

OPERATOR = {"X-API-Key": ADMIN_KEY}  # the default tenant, whose channel is the env's number


async def test_a_blocked_contacts_message_ends_as_a_status_event(database_url: str) -> None:
    with served(database_url) as url:
        async with client_of(url) as client:
            made = await client.post("/api/v1/contacts", json={"wa_id": WA_ID}, headers=OPERATOR)
            assert made.status_code == 201, made.text
            contact_id = made.json()["id"]
            blocked = await client.post(f"/api/v1/contacts/{contact_id}/block", headers=OPERATOR)
            assert blocked.status_code == 200, blocked.text

            # From the first event on: nothing is missed, however late the stream starts.
            replay = {"last_event_id": 0}
            async with (
                asyncio.timeout(60),
                sse(client, headers=OPERATOR, params=replay) as stream,
            ):
                body, headers = signed(APP_SECRET, text_message("wamid.unanswered.1", "hello?"))
                answer = await client.post("/webhook", content=body, headers=headers)
                assert answer.status_code == 200, answer.text
                seen: list[tuple[str | None, str]] = []
                while ("message.status", "blocked") not in seen:
                    event = await stream.next()
                    message = event.data["data"]
                    if message.get("text") == "hello?":
                        seen.append((event.event, message["status"]))

    # An event carries its object as it is when it is sent: by then the job may hold it.
    assert seen[0][0] == "message.created"
    assert seen[0][1] in {"received", "processing", "blocked"}
    assert seen[-1] == ("message.status", "blocked")
