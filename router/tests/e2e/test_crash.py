"""SIGKILL the router with work in flight, start it again: every message answered exactly once.

Two moments: with replies still being computed, and right after the Graph API accepted a send and
before the router stored its wamid.
"""

import asyncio
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ..backends import fresh_rabbitmq
from ..meta import PHONE_NUMBER_ID, signed, text_message
from ..support import free_port, in_thread, service, wait_until_sync
from .graph_standin import GraphStandIn

pytestmark = pytest.mark.e2e

APP_SECRET = "crash-app-secret"
ACCESS_TOKEN = "crash-access-token"
ADMIN_KEY = "crash-admin-key"
# The Graph API accepts this reply and its answer never reaches the router.
ANSWER_LOST = "re: the answer to this one is lost"


class HoldingServer:
    """A stand-in for the Server that answers some texts at once and holds the others."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.app = FastAPI()

        @self.app.post("/process")
        async def process(body: dict[str, Any]) -> dict[str, str]:
            text = body["text"]
            while text.startswith("hold") and not self.release.is_set():
                await asyncio.sleep(0.02)
            return {"original": text, "reply": f"re: {text}"}

        @self.app.get("/health")
        async def health() -> dict[str, str]:
            return {"status": "ok"}


@pytest.fixture
def standins() -> Iterator[tuple[HoldingServer, str, GraphStandIn, str]]:
    server = HoldingServer()
    graph = GraphStandIn(ACCESS_TOKEN, hold={ANSWER_LOST})
    with in_thread(server.app) as server_url, in_thread(graph.app) as graph_url:
        yield server, server_url, graph, graph_url


def router_env(
    server_url: str, graph_url: str, tmp_path: Path, queue_env: dict[str, str] | None = None
) -> dict[str, str]:
    return {
        **(queue_env or {}),
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
        "WHATSAPP_WEBHOOK_VERIFY_TOKEN": "crash-verify",
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_GRAPH_API_URL": graph_url,
        "SERVER_BASE_URL": server_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'router.db'}",
        "ROUTER_ADMIN_API_KEY": ADMIN_KEY,
        "ROUTER_LEASE_SECONDS": "2",
        "ROUTER_SWEEP_SECONDS": "0.3",
        # Longer than the restart takes: the status webhooks below come while the router waits.
        "ROUTER_RESEND_WAIT_SECONDS": "60",
    }


@pytest.mark.parametrize("queue", ["memory", "rabbitmq"])
def test_a_killed_router_finishes_everything_once_after_restart(
    standins: tuple[HoldingServer, str, GraphStandIn, str], tmp_path: Path, queue: str
) -> None:
    server, server_url, graph, graph_url = standins
    # RabbitMQ hands the killed router's unacknowledged jobs to the next one; the sweep finds
    # them too. The in-process queue dies with the router: the store alone has its work.
    queue_env = {}
    if queue == "rabbitmq":
        shared = asyncio.run(fresh_rabbitmq())
        queue_env = {
            "QUEUE_URL": shared["queue_url"],
            "ROUTER_QUEUE_NAME": shared["router_queue_name"],
        }
    env = router_env(server_url, graph_url, tmp_path, queue_env)
    quick = [(f"1555111{i:04d}", f"quick {i}") for i in range(10)]
    held = [(f"1555222{i:04d}", f"hold {i}") for i in range(20)]
    # Behind five held ones, a second message of the same contact: it must wait its turn.
    behind = [(held[i][0], f"after {i}") for i in range(5)]
    port = free_port()

    with service("router", env, tmp_path, port=port) as router:
        for n, (user, text) in enumerate(quick + held + behind):
            body, headers = signed(APP_SECRET, text_message(f"wamid.crash.{n}", text, wa_id=user))
            response = httpx.post(f"{router.url}/webhook", content=body, headers=headers)
            assert response.status_code == 200

        wait_until_sync(
            lambda: _replied(router.url) == len(quick), what="the quick replies", timeout=20
        )
        assert all(not graph.texts_to(user) for user, _ in held)
        os.killpg(router.process.pid, signal.SIGKILL)
        router.process.wait()

    server.release.set()
    with service("router", env, tmp_path, port=port) as router:
        total = len(quick) + len(held) + len(behind)
        wait_until_sync(
            lambda: _replied(router.url) == total, what="every reply after the restart", timeout=30
        )

    for user, text in quick + held:
        replies = graph.texts_to(user)
        expected = [f"re: {text}"] + [f"re: {t}" for u, t in behind if u == user]
        assert replies == expected, user


def test_a_router_killed_after_the_graph_api_accepted_a_send_replies_once(
    standins: tuple[HoldingServer, str, GraphStandIn, str], tmp_path: Path
) -> None:
    _, server_url, graph, graph_url = standins
    env = router_env(server_url, graph_url, tmp_path)
    user = "15553330001"
    port = free_port()

    with service("router", env, tmp_path, port=port) as router:
        text = ANSWER_LOST.removeprefix("re: ")
        body, headers = signed(APP_SECRET, text_message("wamid.lost.1", text, wa_id=user))
        assert httpx.post(f"{router.url}/webhook", content=body, headers=headers).is_success
        # Meta has the message; the router waits for the Graph API's answer, and dies.
        wait_until_sync(
            lambda: bool(graph.held), what="the Graph API to accept the send", timeout=20
        )
        os.killpg(router.process.pid, signal.SIGKILL)
        router.process.wait()

    with service("router", env, tmp_path, port=port) as router:
        # Meta's status webhooks for the message, which carry the tracker it was sent with.
        graph.deliver_statuses(f"{router.url}/webhook", APP_SECRET)
        wait_until_sync(
            lambda: _replied(router.url) == 1, what="the reply to be recorded", timeout=20
        )
        outbound = _messages(router.url, direction="outbound")

    [(wamid, _)] = graph.held
    assert graph.texts_to(user) == [ANSWER_LOST]
    assert [(m["wamid"], m["status"]) for m in outbound] == [(wamid, "delivered")]


def _messages(router_url: str, **params: Any) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{router_url}/api/v1/messages", params=params, headers={"X-API-Key": ADMIN_KEY}
    )
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _replied(router_url: str) -> int:
    response = httpx.get(
        f"{router_url}/api/v1/messages",
        params={"status": "replied", "limit": 500},
        headers={"X-API-Key": ADMIN_KEY},
    )
    return len(response.json()["items"])


def test_a_router_killed_between_a_files_upload_and_its_send_sends_it_once(
    standins: tuple[HoldingServer, str, GraphStandIn, str], tmp_path: Path
) -> None:
    """The upload's id is stored before the send starts: the restarted job sends that id (it does
    not upload again), and adopts the send Meta took from its status webhooks (it does not send
    again)."""
    _, server_url, graph, graph_url = standins
    graph.hold_kind("image")
    env = router_env(server_url, graph_url, tmp_path)
    env["ROUTER_MEDIA_DIR"] = str(tmp_path / "media")
    user = "15553330002"
    port = free_port()
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(200))

    with service("router", env, tmp_path, port=port) as router:
        # The contact writes first: the 24-hour window is open.
        body, headers = signed(APP_SECRET, text_message("wamid.file.1", "quick", wa_id=user))
        assert httpx.post(f"{router.url}/webhook", content=body, headers=headers).is_success
        wait_until_sync(lambda: _replied(router.url) == 1, what="the text's reply", timeout=20)
        written = httpx.post(
            f"{router.url}/api/v1/messages",
            headers={"X-API-Key": ADMIN_KEY},
            data={"channel_id": "1", "to": user, "caption": "the plan"},
            files={"file": ("plan.png", png, "image/png")},
        )
        assert written.status_code == 202, written.text
        # Uploaded, the id stored, the send taken by Meta; the router dies before its answer.
        wait_until_sync(lambda: bool(graph.held), what="the image's send", timeout=20)
        os.killpg(router.process.pid, signal.SIGKILL)
        router.process.wait()

    with service("router", env, tmp_path, port=port) as router:
        graph.deliver_statuses(f"{router.url}/webhook", APP_SECRET)

        def delivered() -> bool:
            found = _messages(router.url, direction="outbound", limit=10)
            return any(m["type"] == "image" and m["status"] == "delivered" for m in found)

        wait_until_sync(delivered, what="the image recorded as delivered", timeout=30)
        [image] = [m for m in _messages(router.url, direction="outbound") if m["type"] == "image"]
        served = httpx.get(f"{router.url}{image['media']['url']}", headers={"X-API-Key": ADMIN_KEY})

    [(wamid, sent)] = graph.held
    assert [u["file"] for u in graph.uploads] == [png]
    assert graph.sends_of("image") == [sent]
    assert sent["image"] == {"id": "770001", "caption": "the plan"}
    assert image["wamid"] == wamid
    assert served.content == png
