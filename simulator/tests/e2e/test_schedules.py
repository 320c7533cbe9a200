"""Scheduled messages end to end, through real processes (Server, Router, Simulator): a text due
in two seconds reaches the contact's chat once, and a template scheduled to a number that never
wrote reaches it whatever the window, while a text to it is kept back ("a template is needed")."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ..support import wait_until_sync
from .conftest import ADMIN_KEY, PHONE_ID, System
from .test_platform import api, write

pytestmark = pytest.mark.e2e

HELLO = {"name": "hello_world", "language": "en_US"}


def schedule(system: System, **body: Any) -> dict[str, Any]:
    response = api(system, "POST", "/api/v1/schedules", ADMIN_KEY, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def ran(system: System, schedule_id: int) -> dict[str, Any] | None:
    """The schedule once every message of its run has reached the contact's phone (or failed)."""
    got: dict[str, Any] = api(system, "GET", f"/api/v1/schedules/{schedule_id}", ADMIN_KEY).json()
    settled = {"delivered", "read", "failed"}
    done = got["messages"] and all(m["status"] in settled for m in got["messages"])
    return got if done else None


def channel_of_the_env_number(system: System) -> int:
    channels = api(system, "GET", "/api/v1/channels", ADMIN_KEY).json()["items"]
    [channel] = [c for c in channels if c["phone_number_id"] == PHONE_ID]
    return int(channel["id"])


def test_a_scheduled_text_reaches_the_chat_once_and_a_template_reaches_a_number_that_never_wrote(
    system: System,
) -> None:
    system.new_user("15550008000", name="Punctual")
    write(system, "15550008000", "hello")  # the window is open
    channel_id = channel_of_the_env_number(system)
    due = datetime.now(UTC) + timedelta(seconds=2)
    text = schedule(
        system,
        channel_id=channel_id,
        to="15550008000",
        text="Reminder: today",
        send_at=due.isoformat(),
    )
    both = schedule(
        system,
        channel_id=channel_id,
        to="15550008001",  # never wrote
        template=HELLO,
        send_at=due.isoformat(),
    )
    refused = schedule(
        system, channel_id=channel_id, to="15550008001", text="Too early", send_at=due.isoformat()
    )

    after_text = wait_until_sync(lambda: ran(system, text["id"]), timeout=15)
    after_template = wait_until_sync(lambda: ran(system, both["id"]), timeout=15)
    after_refused = wait_until_sync(lambda: ran(system, refused["id"]), timeout=15)

    assert after_text is not None
    assert after_template is not None
    assert after_refused is not None
    assert datetime.now(UTC) >= due
    assert system.reply_texts("15550008000").count("Reminder: today") == 1
    assert len(after_text["messages"]) == 1
    assert [m["type"] for m in system.replies_to("15550008001")] == ["template"]
    [kept_back] = after_refused["messages"]
    assert (kept_back["status"], kept_back["error_title"]) == ("failed", "a template is needed")
