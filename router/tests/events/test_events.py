"""Live events (GET /api/v1/events, /api/v1/ws): a real router served over HTTP, its store on
SQLite (one process: the in-process bus) or PostgreSQL (LISTEN/NOTIFY between two routers)."""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
import websockets

from app.events import tickets
from app.main import create_app

from ..backends import migrated_postgres
from ..conftest import ADMIN_KEY, make_settings
from ..events_client import sse
from ..support import in_thread

OPERATOR = {"X-API-Key": ADMIN_KEY}


@contextmanager
def served(database_url: str, **overrides: Any) -> Iterator[str]:
    with in_thread(create_app(make_settings(database_url=database_url, **overrides))) as url:
        yield url


@asynccontextmanager
async def client_of(url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        yield client


async def new_tenant(client: httpx.AsyncClient, name: str) -> tuple[int, str]:
    """A tenant and its owner's key."""
    tenant = await client.post("/api/v1/tenants", json={"name": name}, headers=OPERATOR)
    assert tenant.status_code == 201, tenant.text
    tenant_id = tenant.json()["id"]
    key = await client.post(
        f"/api/v1/tenants/{tenant_id}/api-keys",
        json={"name": "owner", "role": "owner"},
        headers=OPERATOR,
    )
    assert key.status_code == 201, key.text
    return tenant_id, key.json()["key"]


async def new_contact(client: httpx.AsyncClient, key: str, wa_id: str) -> int:
    made = await client.post("/api/v1/contacts", json={"wa_id": wa_id}, headers={"X-API-Key": key})
    assert made.status_code == 201, made.text
    contact_id: int = made.json()["id"]
    return contact_id


async def rename(client: httpx.AsyncClient, key: str, contact_id: int, name: str) -> None:
    edited = await client.patch(
        f"/api/v1/contacts/{contact_id}", json={"name": name}, headers={"X-API-Key": key}
    )
    assert edited.status_code == 200, edited.text


async def test_a_subscriber_that_reconnects_with_last_event_id_gets_every_missed_event_once(
    database_url: str,
) -> None:
    with served(database_url) as url:
        async with client_of(url) as client:
            _, key = await new_tenant(client, "Acme")
            contact_id = await new_contact(client, key, "15550001111")
            headers = {"X-API-Key": key}
            seen: list[str] = []
            async with asyncio.timeout(20), sse(client, headers=headers) as stream:
                await rename(client, key, contact_id, "first")
                event = await stream.next()
                assert event.event == "contact.updated"
                assert event.id == str(event.data["id"])
                assert event.data["type"] == "contact.updated"
                assert event.data["data"]["id"] == contact_id
                assert event.data["data"]["name"] == "first"
                assert set(event.data) == {"type", "id", "tenant_id", "at", "data"}
                seen.append(event.id)
            # Disconnected: these happen while no one listens.
            for name in ("second", "third", "fourth"):
                await rename(client, key, contact_id, name)
            async with (
                asyncio.timeout(20),
                sse(client, headers={**headers, "Last-Event-ID": seen[-1]}) as stream,
            ):
                missed = [await stream.next() for _ in range(3)]
                await rename(client, key, contact_id, "live")
                live = await stream.next()
            ids = [int(e.id or 0) for e in [*missed, live]]
            assert ids == sorted(set(ids))
            assert ids[0] > int(seen[0])
            assert [e.data["data"]["name"] for e in [*missed, live]][-1] == "live"
            # The query parameter does what the header does, for clients that cannot set it.
            async with (
                asyncio.timeout(20),
                sse(client, params={"last_event_id": seen[0]}, headers=headers) as stream,
            ):
                again = [int((await stream.next()).id or 0) for _ in range(4)]
            assert again == ids


async def test_a_subscriber_of_one_tenant_never_receives_another_tenants_events(
    database_url: str,
) -> None:
    with served(database_url) as url:
        async with client_of(url) as client:
            a_id, a_key = await new_tenant(client, "A")
            _, b_key = await new_tenant(client, "B")
            a_contact = await new_contact(client, a_key, "15550002222")
            b_contact = await new_contact(client, b_key, "15550003333")
            async with (
                asyncio.timeout(20),
                sse(client, headers={"X-API-Key": a_key}, params={"last_event_id": 0}) as stream,
            ):
                for n in range(3):
                    await rename(client, b_key, b_contact, f"b{n}")
                await rename(client, a_key, a_contact, "a-done")
                event = await stream.next()
            # Replayed from the start of the store and live: the first A event is the only one.
            assert event.data["tenant_id"] == a_id
            assert event.data["data"]["name"] == "a-done"


async def test_a_ticket_opens_the_stream_and_a_forged_or_expired_one_is_refused(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with served(database_url) as url:
        async with client_of(url) as client:
            tenant_id, key = await new_tenant(client, "Acme")
            contact_id = await new_contact(client, key, "15550004444")
            made = await client.post("/api/v1/events/ticket", headers={"X-API-Key": key})
            assert made.status_code == 201, made.text
            ticket = made.json()["ticket"]
            assert set(made.json()) == {"ticket", "expires_at"}
            async with asyncio.timeout(20), sse(client, params={"ticket": ticket}) as stream:
                await rename(client, key, contact_id, "ticketed")
                assert (await stream.next()).data["tenant_id"] == tenant_id

            body, _, signature = ticket.partition(".")
            flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
            for forged in (f"{body}.{flipped}", ticket[:-1], "wrt_x.y", "nonsense"):
                refused = await client.get("/api/v1/events", params={"ticket": forged})
                assert refused.status_code == 401, forged
                assert refused.json()["error"]["code"] == "unauthorized"

            monkeypatch.setattr(tickets, "TICKET_SECONDS", -1)  # made already expired
            stale = await client.post("/api/v1/events/ticket", headers={"X-API-Key": key})
            refused = await client.get("/api/v1/events", params={"ticket": stale.json()["ticket"]})
            assert refused.status_code == 401

            without = await client.get("/api/v1/events")
            assert without.status_code == 401


async def test_me_says_who_the_caller_is(database_url: str) -> None:
    with served(database_url) as url:
        async with client_of(url) as client:
            tenant_id, key = await new_tenant(client, "Acme")
            me = await client.get("/api/v1/me", headers={"X-API-Key": key})
            assert me.status_code == 200, me.text
            assert me.json() == {
                "tenant_id": tenant_id,
                "tenant_name": "Acme",
                "member_id": None,
                "member_name": None,
                "role": "owner",
                "auth": "api_key",
            }
            operator = await client.get(
                "/api/v1/me", headers={**OPERATOR, "X-Tenant-ID": str(tenant_id)}
            )
            assert operator.json()["auth"] == "operator"
            assert operator.json()["tenant_id"] == tenant_id
            assert (await client.get("/api/v1/me")).status_code == 401


async def test_the_websocket_replays_since_an_id_then_sends_live_events(database_url: str) -> None:
    with served(database_url) as url:
        async with client_of(url) as client:
            _, key = await new_tenant(client, "Acme")
            contact_id = await new_contact(client, key, "15550005555")
            for name in ("one", "two"):
                await rename(client, key, contact_id, name)
            ticket = (await client.post("/api/v1/events/ticket", headers={"X-API-Key": key})).json()
            ws_url = url.replace("http://", "ws://") + "/api/v1/ws"
            async with asyncio.timeout(20):
                async with websockets.connect(f"{ws_url}?ticket={ticket['ticket']}&since=0") as ws:
                    replayed = [json.loads(await ws.recv()) for _ in range(2)]
                    await rename(client, key, contact_id, "three")
                    live = json.loads(await ws.recv())
                # Replayed, an event carries its object as it is now.
                assert [e["data"]["name"] for e in [*replayed, live]] == ["two", "two", "three"]
                assert replayed[0]["id"] < replayed[1]["id"] < live["id"]
                # A program authenticates with its key; `since` the last one: nothing twice.
                async with websockets.connect(
                    f"{ws_url}?since={live['id']}", additional_headers={"X-API-Key": key}
                ) as ws:
                    await rename(client, key, contact_id, "four")
                    assert json.loads(await ws.recv())["data"]["name"] == "four"
                with pytest.raises(websockets.InvalidStatus) as refused:
                    async with websockets.connect(f"{ws_url}?ticket=forged"):
                        pass
                assert refused.value.response.status_code == 401


async def test_an_event_on_one_router_reaches_a_subscriber_of_another_through_postgresql() -> None:
    database_url = await migrated_postgres()
    with (
        served(database_url) as first,
        served(database_url, router_migrate_on_start=False) as second,
    ):
        async with client_of(first) as one, client_of(second) as other:
            _, key = await new_tenant(one, "Acme")
            contact_id = await new_contact(one, key, "15550006666")
            async with asyncio.timeout(20), sse(other, headers={"X-API-Key": key}) as stream:
                await rename(one, key, contact_id, "from the first router")
                event = await stream.next()
            assert event.data["data"]["name"] == "from the first router"
