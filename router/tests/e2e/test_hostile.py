"""Hostile webhooks against the router as a real process, over real sockets: never a 5xx, and every
valid message beside them answered exactly once."""

import asyncio
import http.client
import json
import socket
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from ..meta import PHONE_NUMBER_ID, fixture, signed, text_message
from ..support import Service, in_thread, service, wait_until_sync
from .graph_standin import GraphStandIn

pytestmark = pytest.mark.e2e

APP_SECRET = "hostile-app-secret"
ACCESS_TOKEN = "hostile-access-token"
ADMIN_KEY = "hostile-admin-key"
FIVE_MB = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, GraphStandIn]]:
    graph = GraphStandIn(ACCESS_TOKEN)
    logs = tmp_path_factory.mktemp("logs")
    with in_thread(graph.app) as graph_url, service("server", {}, logs) as server:
        env = {
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
            "WHATSAPP_WEBHOOK_VERIFY_TOKEN": "hostile-verify-token",
            "WHATSAPP_APP_SECRET": APP_SECRET,
            "WHATSAPP_GRAPH_API_URL": graph_url,
            "SERVER_BASE_URL": server.url,
            "ROUTER_ADMIN_API_KEY": ADMIN_KEY,
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": f"sqlite+aiosqlite:///{logs / 'router.db'}",
        }
        with service("router", env, logs) as router:
            yield router, graph


def settled(router: Service) -> bool:
    """The router's store holds no unfinished message and no unsent reply: nothing more will go
    out, so what the Graph API received is final."""
    stats = httpx.get(
        f"{router.url}/api/v1/messages/stats", headers={"X-API-Key": ADMIN_KEY}, timeout=5
    ).json()
    unfinished = {"received", "processing", "pending"}
    return not unfinished & (set(stats["inbound"]) | set(stats["outbound"]))


def post_closing(router: Service, body: bytes | Iterator[bytes]) -> tuple[int, Any]:
    """POST as a plain client or a proxy does: `Connection: close`, the whole body sent, then the
    answer read (http.client, as urllib uses it)."""
    url = urlsplit(router.url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
    try:
        connection.request(
            "POST",
            "/webhook",
            body=body,
            headers={"Connection": "close", "X-Hub-Signature-256": "sha256=" + "0" * 64},
            encode_chunked=not isinstance(body, bytes),
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_body_over_the_limit_with_its_length_gets_a_413(
    system: tuple[Service, GraphStandIn],
) -> None:
    router, _ = system

    for _ in range(3):  # the reset came every time
        status, answer = post_closing(router, b" " * FIVE_MB)

        assert status == 413
        assert answer["error"] == {
            "code": "body_too_large",
            "message": "body larger than 1048576 bytes",
        }


def test_a_body_over_the_limit_without_its_length_gets_a_413(
    system: tuple[Service, GraphStandIn],
) -> None:
    router, _ = system

    def chunks() -> Iterator[bytes]:
        for _ in range(80):
            yield b" " * 64 * 1024  # 5 MB, chunked

    for _ in range(3):
        status, answer = post_closing(router, chunks())

        assert status == 413
        assert answer["error"]["code"] == "body_too_large"


def test_a_client_waiting_for_100_continue_gets_the_413_without_sending_the_body(
    system: tuple[Service, GraphStandIn],
) -> None:
    router, _ = system
    url = urlsplit(router.url)
    with socket.create_connection((url.hostname or "", url.port or 80), timeout=10) as client:
        client.sendall(
            b"POST /webhook HTTP/1.1\r\nHost: router\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\n\r\n" % FIVE_MB
        )
        answer = b""
        while b"body_too_large" not in answer and (chunk := client.recv(65536)):
            answer += chunk

    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'"body_too_large"' in answer


Headers = list[tuple[bytes, bytes]]


def as_bytes(headers: dict[str, str], **extra: bytes) -> Headers:
    raw = [(name.encode(), value.encode()) for name, value in headers.items()]
    return raw + [(name.replace("_", "-").encode(), value) for name, value in extra.items()]


def poisoned(n: int) -> list[tuple[bytes, Headers]]:
    """Signed bodies built to hurt, as an attacker or a buggy proxy would send them. The first is
    a text with a lone surrogate, which is still answered (from 1666..., with U+FFFD); no other
    is answered."""
    surrogate = json.dumps(text_message(f"wamid.p{n}.s", "x@@", wa_id=f"1666{n:07d}")).encode()
    huge_code = fixture("status_failed_130472")
    huge_code["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0]["code"] = 2**64
    long_wamid = text_message(f"wamid.p{n}." + "x" * 10_000, "long", wa_id=f"1777{n:07d}")
    bad_number = text_message(f"wamid.p{n}.n", "bad number", wa_id=f"1888{n:07d}")
    bad_number["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "1/../x?y"
    not_a_list = text_message(f"wamid.p{n}.l", "x", wa_id=f"1999{n:07d}")
    not_a_list["entry"][0]["changes"][0]["value"]["messages"] = 5
    bodies = [
        signed(APP_SECRET, surrogate.replace(b"@@", b"\xed\xa0\x80")),
        signed(APP_SECRET, huge_code),
        signed(APP_SECRET, long_wamid),
        signed(APP_SECRET, bad_number),
        signed(APP_SECRET, not_a_list),
        signed(APP_SECRET, b"[" * 50_000),
    ]
    forged, _ = signed(APP_SECRET, text_message(f"wamid.p{n}.f", "x", wa_id=f"1999{n:07d}"))
    return [(body, as_bytes(headers)) for body, headers in bodies] + [
        (forged, as_bytes({}, X_Hub_Signature_256="sha256=é".encode() + b"0" * 63))
    ]


async def test_valid_messages_are_answered_once_whatever_is_sent_beside_them(
    system: tuple[Service, GraphStandIn],
) -> None:
    """The issue's finding: 3 poisoned bodies among 30 valid concurrent ones, 5 times over."""
    router, graph = system
    rounds, per_round = 5, 30
    surrogate_senders = []
    codes: Counter[int | str] = Counter()
    valid_senders = []
    async with httpx.AsyncClient(base_url=router.url, timeout=30) as client:

        async def post(body: bytes, headers: Headers) -> int | str:
            try:
                response = await client.post("/webhook", content=body, headers=headers)
            except httpx.TransportError as exc:  # no answer at all: worse than a 5xx
                return type(exc).__name__
            return response.status_code

        for r in range(rounds):
            senders = [f"1555{r:02d}{i:05d}" for i in range(per_round)]
            valid_senders += senders
            good = [
                signed(APP_SECRET, text_message(f"wamid.v{r}.{i}", f"valid {r}.{i}", wa_id=user))
                for i, user in enumerate(senders)
            ]
            # The last valid one carries a request id that cannot travel on as it is.
            bodies = [(body, as_bytes(headers)) for body, headers in good[:-1]]
            bodies.append((good[-1][0], as_bytes(good[-1][1], X_Request_ID="réq".encode())))
            kinds = poisoned(r)
            picks = [(3 * r + k) % len(kinds) for k in range(3)]
            if 0 in picks:
                surrogate_senders.append(f"1666{r:07d}")
            for position, pick in zip((5, 15, 25), picks, strict=True):
                bodies.insert(position, kinds[pick])
            codes.update(await asyncio.gather(*(post(body, headers) for body, headers in bodies)))

    assert all(isinstance(code, int) and code < 500 for code in codes), codes
    wait_until_sync(
        lambda: all(graph.texts_to(user) for user in valid_senders + surrogate_senders), timeout=30
    )
    wait_until_sync(lambda: settled(router), timeout=30)
    answered = {user: graph.texts_to(user) for user in valid_senders}
    assert [user for user, texts in answered.items() if len(texts) != 1] == []
    for user in surrogate_senders:
        [text] = graph.texts_to(user)
        assert "'x\ufffd'" in text
    for prefix in ("1777", "1888", "1999"):
        assert [graph.texts_to(f"{prefix}{n:07d}") for n in range(rounds)] == [[]] * rounds
