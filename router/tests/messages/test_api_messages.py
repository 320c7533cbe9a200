"""`/api/v1/messages` on every store: ids, filters and timestamps as the OpenAPI says."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import httpx
import pytest
import respx

from app.messages.management import MessageStatus
from app.messages.models import InboundStatus, OutboundStatus

from ..conftest import APP_SECRET, RouterUnderTest, make_settings, running_router
from ..meta import signed, text_message

LARGEST_API_ID = 2**63 - 1  # int64, the ids' format in the OpenAPI
LARGEST_POSTGRES_ID = 2**31 - 1  # `messages.id` is an Integer: 32-bit on PostgreSQL


@pytest.fixture
async def seeded(
    backends: dict[str, str], server_route: respx.Route, graph_route: respx.Route
) -> AsyncIterator[RouterUnderTest]:
    """A router on each store, holding one answered message (inbound and its reply)."""
    async with running_router(make_settings(**backends)) as router:
        body, headers = signed(APP_SECRET, text_message("wamid.seed", "hello"))
        assert (await router.client.post("/webhook", content=body, headers=headers)).is_success
        await router.settle()
        yield router


async def listed(router: RouterUnderTest, **params: Any) -> httpx.Response:
    return await router.admin("GET", "/api/v1/messages", params=params)


@pytest.mark.parametrize("message_id", ["0", "-1", str(LARGEST_API_ID + 1), "9" * 23])
async def test_an_id_out_of_the_apis_range_is_422_on_every_endpoint(
    seeded: RouterUnderTest, message_id: str
) -> None:
    one = await seeded.admin("GET", f"/api/v1/messages/{message_id}")
    retry = await seeded.admin("POST", f"/api/v1/messages/{message_id}/retry")
    page = await listed(seeded, before_id=message_id)

    assert [one.status_code, retry.status_code, page.status_code] == [422, 422, 422]
    for response in (one, retry, page):
        assert response.json()["detail"][0]["loc"][-1] in {"message_id", "before_id"}


@pytest.mark.parametrize(
    "message_id", [LARGEST_POSTGRES_ID, LARGEST_POSTGRES_ID + 1, 2**53 + 1, LARGEST_API_ID]
)
async def test_an_id_no_row_has_is_404_even_beyond_what_the_column_holds(
    seeded: RouterUnderTest, message_id: int
) -> None:
    one = await seeded.admin("GET", f"/api/v1/messages/{message_id}")
    retry = await seeded.admin("POST", f"/api/v1/messages/{message_id}/retry")

    assert [one.status_code, retry.status_code] == [404, 404]
    assert one.json() == {"error": {"code": "not_found", "message": f"no message {message_id}"}}


@pytest.mark.parametrize("before_id", [LARGEST_POSTGRES_ID + 1, LARGEST_API_ID])
async def test_before_an_id_beyond_every_row_lists_them_all(
    seeded: RouterUnderTest, before_id: int
) -> None:
    everything = (await listed(seeded)).json()

    page = await listed(seeded, before_id=before_id)

    assert page.status_code == 200
    assert page.json() == everything
    assert len(everything["items"]) == 2


@pytest.mark.parametrize("status", ["a\x00b", "nope", "FAILED", ""])
async def test_a_status_filter_names_a_known_status(seeded: RouterUnderTest, status: str) -> None:
    response = await listed(seeded, status=status)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "status"]


async def test_the_status_filter_knows_every_status_of_both_directions() -> None:
    known = {s.value for s in InboundStatus} | {s.value for s in OutboundStatus}

    assert set(get_args(MessageStatus)) == known


async def test_timestamps_carry_their_utc_offset(seeded: RouterUnderTest) -> None:
    before = datetime.now(UTC)
    items = (await listed(seeded)).json()["items"]
    one = (await seeded.admin("GET", f"/api/v1/messages/{items[0]['id']}")).json()

    for message in [*items, one]:
        for field in ("created_at", "updated_at"):
            stamp = datetime.fromisoformat(message[field])
            assert message[field].endswith("Z")
            assert stamp.utcoffset() == timedelta(0)
            assert before - stamp < timedelta(minutes=1)
