"""Both services as real processes, Meta's signed bodies in, replies out at a Graph API stand-in."""

import os
import re
import subprocess
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..meta import PHONE_NUMBER_ID, WA_ID, batch, fixture, signed, text_message
from ..support import REPO_ROOT, Service, in_thread, service, uv, wait_until_sync
from .graph_standin import GraphStandIn

pytestmark = pytest.mark.e2e

APP_SECRET = "e2e-app-secret-5f1c"
ACCESS_TOKEN = "e2e-access-token-8d2a"
VERIFY_TOKEN = "e2e-verify-token-c3b9"
REPLY = re.compile(
    r"^I received your message: '(?P<text>.*)' and here is a random number: \d+$", re.S
)


@pytest.fixture(scope="module")
def graph() -> Iterator[tuple[GraphStandIn, str]]:
    standin = GraphStandIn(ACCESS_TOKEN)
    with in_thread(standin.app) as url:
        yield standin, url


@pytest.fixture(scope="module")
def system(
    graph: tuple[GraphStandIn, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Service, GraphStandIn]]:
    standin, graph_url = graph
    logs = tmp_path_factory.mktemp("logs")
    with service("server", {}, logs) as server:
        env = {
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
            "WHATSAPP_WEBHOOK_VERIFY_TOKEN": VERIFY_TOKEN,
            "WHATSAPP_APP_SECRET": APP_SECRET,
            "WHATSAPP_GRAPH_API_URL": graph_url,
            "SERVER_BASE_URL": server.url,
            "LOG_FORMAT": "json",
            "DATABASE_URL": f"sqlite+aiosqlite:///{logs / 'router.db'}",
        }
        with service("router", env, logs) as router:
            yield router, standin
            text = router.logs()
            for secret in (APP_SECRET, ACCESS_TOKEN, VERIFY_TOKEN):
                assert secret not in text, "a secret reached the router's log"


def post(router: Service, payload: Any) -> httpx.Response:
    body, headers = signed(APP_SECRET, payload)
    return httpx.post(f"{router.url}/webhook", content=body, headers=headers, timeout=5)


def test_the_verification_handshake(system: tuple[Service, GraphStandIn]) -> None:
    router, _ = system
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "8213"}

    good = httpx.get(f"{router.url}/webhook", params=params)
    bad = httpx.get(f"{router.url}/webhook", params={**params, "hub.verify_token": "nope"})

    assert (good.status_code, good.text) == (200, "8213")
    assert bad.status_code == 403


def test_a_signed_text_gets_the_servers_reply_at_the_graph_api(
    system: tuple[Service, GraphStandIn],
) -> None:
    router, graph = system
    user = "15550100001"

    response = post(router, text_message("wamid.e2e.1", "hello there", wa_id=user))

    assert response.status_code == 200
    replies = wait_until_sync(lambda: graph.texts_to(user), timeout=10)
    assert len(replies) == 1
    match = REPLY.match(replies[0])
    assert match is not None
    assert match["text"] == "hello there"
    assert f"/{PHONE_NUMBER_ID}/messages" in graph.paths[-1]


def test_every_fixture_shape_and_a_batch_are_answered_in_full(
    system: tuple[Service, GraphStandIn],
) -> None:
    router, graph = system
    users = [f"1555020000{i}" for i in range(4)]
    body = batch(
        text_message("wamid.e2e.b0", "zero", wa_id=users[0]),
        text_message("wamid.e2e.b1", "one", wa_id=users[1], user_id=None),
        text_message("wamid.e2e.b2", "two", wa_id=users[2]),
        fixture("message_image"),
        fixture("status_read"),
    )
    classic = fixture("message_text_classic_no_user_id")

    assert post(router, body).status_code == 200
    assert post(router, classic).status_code == 200

    for user, text in zip(users[:3], ["zero", "one", "two"], strict=True):
        replies = wait_until_sync(partial(graph.texts_to, user), timeout=10)
        assert len(replies) == 1
        match = REPLY.match(replies[0])
        assert match is not None
        assert match["text"] == text
    assert wait_until_sync(lambda: graph.texts_to(WA_ID), timeout=10)


def answered_in_order(graph: GraphStandIn, user: str, count: int) -> list[str]:
    """The texts sent to `user` once there are `count` of them: what they said, in order."""
    replies = wait_until_sync(
        lambda: len(graph.texts_to(user)) >= count and graph.texts_to(user), timeout=10
    )
    assert replies, f"{user} never got {count} replies"
    said = []
    for reply in replies:
        match = REPLY.match(reply)
        assert match is not None, reply
        said.append(match["text"])
    return said


def test_a_redelivery_is_answered_once(system: tuple[Service, GraphStandIn]) -> None:
    router, graph = system
    user = "15550300001"
    body = text_message("wamid.e2e.dup", "once please", wa_id=user)

    for _ in range(3):
        assert post(router, body).status_code == 200
    # A later message from the same contact is answered after everything before it: once its
    # reply is out, a second reply to the redelivered one would be out too.
    assert post(router, text_message("wamid.e2e.dup.after", "and then", wa_id=user)).is_success

    assert answered_in_order(graph, user, 2) == ["once please", "and then"]


def test_a_forged_signature_is_rejected_and_answered_by_nothing(
    system: tuple[Service, GraphStandIn],
) -> None:
    router, graph = system
    user = "15550400001"
    body, _ = signed(APP_SECRET, text_message("wamid.e2e.forged", "forged", wa_id=user))

    forged = httpx.post(
        f"{router.url}/webhook",
        content=body,
        headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
    )
    unsigned = httpx.post(f"{router.url}/webhook", content=body)
    # Had either been taken in, it would be answered before this later one from the same contact.
    genuine = text_message("wamid.e2e.forged.after", "genuine", wa_id=user)
    assert post(router, genuine).status_code == 200

    assert forged.status_code == 403
    assert unsigned.status_code == 401
    assert answered_in_order(graph, user, 1) == ["genuine"]


def test_the_router_refuses_to_start_without_its_secrets(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "UV_PYTHON_DOWNLOADS": "never",
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_ACCESS_TOKEN": "start-token-value",
    }
    # Where uv keeps its packages, and which Python the services run on (make picks python3 on a
    # machine without a 3.11): without them, uv would rebuild the environment from nothing.
    for name in ("UV_CACHE_DIR", "UV_PYTHON"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    # uv's default cache is under HOME, which is empty here: name the real one (twice as fast).
    if "UV_CACHE_DIR" not in env:
        where = subprocess.run([uv(), "cache", "dir"], capture_output=True, text=True, check=True)
        env["UV_CACHE_DIR"] = where.stdout.strip()
    result = subprocess.run(
        [uv(), "run", "--locked", "python", "-c", "from app.main import app"],
        cwd=REPO_ROOT / "router",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 2
    assert "WHATSAPP_WEBHOOK_VERIFY_TOKEN is not set" in result.stderr
    assert "WHATSAPP_APP_SECRET" in result.stderr
    assert "start-token-value" not in result.stderr
    assert "Traceback" not in result.stderr
