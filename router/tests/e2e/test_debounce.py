"""Burst debounce over real processes: a contact's burst is answered once, as one turn, also when
the router is SIGKILLed in the middle of the wait (the turn is in the store, not in memory)."""

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ..meta import signed, text_message
from ..support import Service, free_port, in_thread, service, wait_until_sync
from .graph_standin import GraphStandIn
from .test_crash import ACCESS_TOKEN, ADMIN_KEY, APP_SECRET, router_env

pytestmark = pytest.mark.e2e

USER = "15554440001"
BURST = ["I'd like to book a table", "for four people", "tomorrow at 8?"]


class RecordingServer:
    """A stand-in for the Server that records each text it is asked about."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self._lock = threading.Lock()
        self.app = FastAPI()

        @self.app.post("/process")
        async def process(body: dict[str, Any]) -> dict[str, str]:
            with self._lock:
                self.asked.append(body["text"])
            return {"original": body["text"], "reply": f"re: {body['text']}"}

        @self.app.get("/health")
        async def health() -> dict[str, str]:
            return {"status": "ok"}


@pytest.fixture
def standins() -> Iterator[tuple[RecordingServer, str, GraphStandIn, str]]:
    server = RecordingServer()
    graph = GraphStandIn(ACCESS_TOKEN)
    with in_thread(server.app) as server_url, in_thread(graph.app) as graph_url:
        yield server, server_url, graph, graph_url


def admin(router: Service, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(
        method, f"{router.url}{path}", headers={"X-API-Key": ADMIN_KEY}, timeout=10, **kwargs
    )


def debounce(router: Service, milliseconds: int | None) -> None:
    """Burst debounce on the env's number (the operator's default tenant's channel)."""
    [channel] = admin(router, "GET", "/api/v1/channels").json()["items"]
    patched = admin(
        router, "PATCH", f"/api/v1/channels/{channel['id']}", json={"debounce_ms": milliseconds}
    )
    assert patched.json()["debounce_ms"] == milliseconds, patched.text


def write(router: Service, wamid: str, text: str) -> None:
    body, headers = signed(APP_SECRET, text_message(wamid, text, wa_id=USER))
    assert httpx.post(f"{router.url}/webhook", content=body, headers=headers).status_code == 200


def inbound(router: Service) -> dict[str, dict[str, Any]]:
    """The router's inbound messages, by wamid."""
    page = admin(router, "GET", "/api/v1/messages", params={"direction": "inbound"}).json()
    return {m["wamid"]: m for m in page["items"]}


def test_a_burst_of_three_gets_one_reply_quoting_the_last(
    standins: tuple[RecordingServer, str, GraphStandIn, str], tmp_path: Path
) -> None:
    server, server_url, graph, graph_url = standins
    env = router_env(server_url, graph_url, tmp_path)
    wamids = [f"wamid.burst.{n}" for n in range(len(BURST))]

    with service("router", env, tmp_path) as router:
        debounce(router, 1500)
        for wamid, text in zip(wamids, BURST, strict=True):
            write(router, wamid, text)
        wait_until_sync(
            lambda: inbound(router)[wamids[-1]]["status"] == "replied",
            timeout=20,
            what="the turn's reply",
        )
        # Sent after the turn was formed: the next turn, answered by itself.
        write(router, "wamid.burst.later", "and a high chair")
        wait_until_sync(
            lambda: inbound(router)["wamid.burst.later"]["status"] == "replied",
            timeout=20,
            what="the next one",
        )
        stored = inbound(router)

    assert server.asked == ["\n".join(BURST), "and a high chair"]
    first, second = (p for p in graph.sent if p["to"] == USER)
    assert first["text"]["body"] == "re: " + "\n".join(BURST)
    assert first["context"] == {"message_id": wamids[-1]}  # the reply quotes the last
    assert second["context"] == {"message_id": "wamid.burst.later"}
    last_id = stored[wamids[-1]]["id"]
    assert [(stored[w]["status"], stored[w]["turn_id"]) for w in wamids] == [
        ("in_turn", last_id),
        ("in_turn", last_id),
        ("replied", last_id),
    ]


def test_a_router_killed_in_the_middle_of_the_wait_replies_once_after_restart(
    standins: tuple[RecordingServer, str, GraphStandIn, str], tmp_path: Path
) -> None:
    server, server_url, graph, graph_url = standins
    env = router_env(server_url, graph_url, tmp_path)
    wamids = [f"wamid.killed.{n}" for n in range(len(BURST))]
    port = free_port()

    with service("router", env, tmp_path, port=port) as router:
        debounce(router, 3000)
        for wamid, text in zip(wamids, BURST, strict=True):
            write(router, wamid, text)
        # The first message's job holds it and waits for the burst to end: kill it there.
        wait_until_sync(
            lambda: inbound(router)[wamids[0]]["status"] == "processing",
            timeout=20,
            what="the wait to start",
        )
        os.killpg(router.process.pid, signal.SIGKILL)
        router.process.wait()
    assert server.asked == []
    assert graph.sent == []

    with service("router", env, tmp_path, port=port) as router:
        wait_until_sync(
            lambda: inbound(router)[wamids[-1]]["status"] == "replied",
            timeout=20,
            what="the turn's reply",
        )
        # A barrier: a later message's reply comes only after anything the turn would send.
        write(router, "wamid.killed.later", "thanks")
        wait_until_sync(
            lambda: inbound(router)["wamid.killed.later"]["status"] == "replied",
            timeout=20,
            what="the next one",
        )
        stored = inbound(router)

    assert server.asked == ["\n".join(BURST), "thanks"]
    assert [(p["text"]["body"], p["context"]["message_id"]) for p in graph.sent] == [
        ("re: " + "\n".join(BURST), wamids[-1]),
        ("re: thanks", "wamid.killed.later"),
    ]
    assert [stored[w]["status"] for w in wamids] == ["in_turn", "in_turn", "replied"]


def test_with_debounce_off_each_message_is_answered_by_itself_unquoted(
    standins: tuple[RecordingServer, str, GraphStandIn, str], tmp_path: Path
) -> None:
    server, server_url, graph, graph_url = standins
    env = router_env(server_url, graph_url, tmp_path)
    wamids = [f"wamid.off.{n}" for n in range(len(BURST))]

    with service("router", env, tmp_path) as router:
        debounce(router, 1500)
        debounce(router, None)  # and off again
        for wamid, text in zip(wamids, BURST, strict=True):
            write(router, wamid, text)
        wait_until_sync(
            lambda: inbound(router)[wamids[-1]]["status"] == "replied",
            timeout=20,
            what="the replies",
        )
        stored = inbound(router)

    assert server.asked == BURST
    assert [p["text"]["body"] for p in graph.sent] == [f"re: {t}" for t in BURST]
    assert all("context" not in p for p in graph.sent)
    assert [(stored[w]["status"], stored[w]["turn_id"]) for w in wamids] == [("replied", None)] * 3
