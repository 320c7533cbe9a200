"""Contacts for a whole webhook round at once (`resolve_many`): the same contacts whichever way
round the insert and the lookup go."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.contacts.models import Contact
from app.contacts.repository import Person, resolve_many
from app.core.clock import utcnow
from app.tenants.models import Tenant

from ..backends import migrated_store

FIRST = Person("111", None)
FIRST_WITH_BSUID = Person("111", "US.1")
SECOND = Person(None, "US.2")


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_store(request.param, tmp_path) as engine:
        async with engine.begin() as connection:
            await connection.execute(insert(Tenant).values(name="Acme", created_at=utcnow()))
        yield engine


async def resolved(
    engine: AsyncEngine, people: dict[Person, str | None], *, guess_new: bool
) -> dict[Person, int]:
    async with engine.begin() as connection:
        found = await resolve_many(connection, 1, people, utcnow(), likely_new=lambda _: guess_new)
    return {person: route.contact_id for person, route in found.items()}


async def everyone(engine: AsyncEngine) -> list[tuple[str | None, str | None, str | None]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(Contact.wa_id, Contact.user_id, Contact.name).order_by(Contact.id)
        )
        return [(r.wa_id, r.user_id, r.name) for r in rows]


@pytest.mark.parametrize("guess_new", [True, False])
async def test_a_wrong_guess_costs_a_statement_and_changes_nothing(
    store: AsyncEngine, guess_new: bool
) -> None:
    first = await resolved(
        store, {FIRST: "First Customer", SECOND: "Second Customer"}, guess_new=guess_new
    )
    # Known now: guessed new (an insert that makes nothing), or looked up first.
    again = await resolved(
        store,
        {FIRST_WITH_BSUID: "First Customer (new profile name)", SECOND: None},
        guess_new=guess_new,
    )

    assert again == {FIRST_WITH_BSUID: first[FIRST], SECOND: first[SECOND]}
    assert sorted(await everyone(store), key=str) == [
        ("111", "US.1", "First Customer (new profile name)"),
        (None, "US.2", "Second Customer"),
    ]


@pytest.mark.parametrize("guess_new", [True, False])
async def test_one_person_named_two_ways_in_one_round_is_one_contact(
    store: AsyncEngine, guess_new: bool
) -> None:
    found = await resolved(
        store, {FIRST: "First Customer", FIRST_WITH_BSUID: "First Customer"}, guess_new=guess_new
    )

    assert found[FIRST] == found[FIRST_WITH_BSUID]
    assert await everyone(store) == [("111", "US.1", "First Customer")]
