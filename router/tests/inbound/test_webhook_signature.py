import json

import pytest
import respx

from ..conftest import APP_SECRET, RouterUnderTest, make_settings, running_router
from ..graph_api import GraphApi
from ..meta import fixture, sign, signed


async def test_missing_signature_is_401_and_nothing_runs(
    router: RouterUnderTest, server_route: respx.Route, graph_route: GraphApi
) -> None:
    body = json.dumps(fixture("message_text")).encode()

    response = await router.client.post(
        "/webhook", content=body, headers={"Content-Type": "application/json"}
    )
    await router.settle()

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "signature_missing"
    assert not server_route.called
    assert not graph_route.called


async def test_wrong_signature_is_403_and_nothing_runs(
    router: RouterUnderTest, server_route: respx.Route, graph_route: GraphApi
) -> None:
    body = json.dumps(fixture("message_text")).encode()

    for header in [
        sign("another-secret", body),
        "sha256=deadbeef",
        sign(APP_SECRET, body)[7:],
        "md5=x",
    ]:
        response = await router.client.post(
            "/webhook", content=body, headers={"X-Hub-Signature-256": header}
        )
        assert response.status_code == 403, header
    await router.settle()

    assert not server_route.called
    assert not graph_route.called


async def test_a_body_changed_after_signing_is_403(
    router: RouterUnderTest, server_route: respx.Route
) -> None:
    body, headers = signed(APP_SECRET, fixture("message_text"))
    tampered = body.replace(b"Body Text", b"Evil Text")

    response = await router.client.post("/webhook", content=tampered, headers=headers)
    await router.settle()

    assert response.status_code == 403
    assert not server_route.called


async def test_the_signature_covers_the_exact_bytes(
    router: RouterUnderTest, graph_route: GraphApi
) -> None:
    # Meta's bytes are not re-serialised: a signature of other whitespace must fail.
    pretty = json.dumps(fixture("message_text"), indent=3).encode()
    compact = json.dumps(fixture("message_text"), separators=(",", ":")).encode()

    wrong = await router.client.post(
        "/webhook", content=compact, headers={"X-Hub-Signature-256": sign(APP_SECRET, pretty)}
    )
    right = await router.client.post(
        "/webhook", content=pretty, headers={"X-Hub-Signature-256": sign(APP_SECRET, pretty)}
    )
    await router.settle()

    assert wrong.status_code == 403
    assert right.status_code == 200
    assert graph_route.call_count == 1


async def test_unsigned_webhooks_only_with_the_development_switch(
    server_route: respx.Route, graph_route: GraphApi
) -> None:
    settings = make_settings(whatsapp_app_secret=None, router_allow_unsigned_webhooks=True)
    async with running_router(settings) as router:
        response = await router.client.post("/webhook", json=fixture("message_text"))
        await router.settle()

    assert response.status_code == 200
    assert graph_route.call_count == 1


@pytest.mark.parametrize(
    "header",
    [
        "sha256=é".encode() + b"0" * 62,
        b"sha256=" + "é".encode("latin-1") * 64,
        b"sha256=" + b"\xff\xfe" * 32,
        b"sha256=" + b"z" * 64,
        b"sha256=" + b"0" * 10_000,
        b"sha256=" + b"0" * 63,
        b"SHA256=" + b"0" * 64,
    ],
    ids=["utf-8", "latin-1", "bytes", "not hex", "huge", "short", "upper-case prefix"],
)
async def test_a_signature_header_of_the_wrong_shape_is_403(
    router: RouterUnderTest, server_route: respx.Route, header: bytes
) -> None:
    body, _ = signed(APP_SECRET, fixture("message_text"))

    response = await router.client.post(
        "/webhook", content=body, headers={b"X-Hub-Signature-256": header}
    )
    await router.settle()

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "signature_invalid"
    assert not server_route.called
