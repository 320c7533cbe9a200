from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, exists, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.contacts.models import Contact
from app.conversations.models import Conversation
from app.core.db import chunked, conflict_insert


async def get(session: AsyncSession, tenant_id: int, contact_id: int) -> Contact | None:
    contact: Contact | None = await session.scalar(
        select(Contact).where(Contact.tenant_id == tenant_id, Contact.id == contact_id)
    )
    return contact


async def page(
    session: AsyncSession,
    tenant_id: int,
    *,
    channel_id: int | None,
    q: str | None,
    blocked: bool | None,
    before_id: int | None,
    limit: int,
) -> list[Contact]:
    """Newest first."""
    query = (
        select(Contact)
        .where(Contact.tenant_id == tenant_id)
        .order_by(Contact.id.desc())
        .limit(limit)
    )
    if channel_id is not None:
        query = query.where(
            exists().where(
                Conversation.contact_id == Contact.id, Conversation.channel_id == channel_id
            )
        )
    if q:
        query = query.where(
            or_(
                Contact.name.icontains(q, autoescape=True),
                Contact.wa_id.icontains(q, autoescape=True),
                Contact.user_id.icontains(q, autoescape=True),
            )
        )
    if blocked is not None:
        query = query.where(Contact.is_blocked.is_(blocked))
    if before_id is not None:
        query = query.where(Contact.id < before_id)
    return list((await session.scalars(query)).all())


async def taken(
    session: AsyncSession, tenant_id: int, wa_id: str | None, user_id: str | None
) -> bool:
    match = _identified_by(wa_id, user_id)
    if match is None:
        return False
    return bool(await session.scalar(select(exists().where(Contact.tenant_id == tenant_id, match))))


def _identified_by(wa_id: str | None, user_id: str | None) -> ColumnElement[bool] | None:
    clauses = []
    if wa_id:
        clauses.append(Contact.wa_id == wa_id)
    if user_id:
        clauses.append(Contact.user_id == user_id)
    return or_(*clauses) if clauses else None


# --- the message path (for routing) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactRoute:
    contact_id: int
    is_blocked: bool
    created: bool = False  # made by this call: it has no conversation yet


@dataclass(frozen=True, slots=True)
class Person:
    """Whom a message is from, as the message names them: a wa_id, a BSUID, or both."""

    wa_id: str | None
    user_id: str | None


@dataclass(frozen=True, slots=True)
class Move:
    """A contact's new identifiers, from Meta's `system` message that they changed."""

    wa_id: str | None  # the number the message came from
    new_wa_id: str | None
    previous_user_id: str | None
    new_user_id: str | None


_c = Contact.__table__.c
_KNOWN = (_c.id, _c.wa_id, _c.user_id, _c.name, _c.name_edited, _c.is_blocked)
# Two lookups, one per unique index: SQLite answers an OR of the two by scanning the tenant's
# contacts, a union of them by two index searches.
_FIND = union(
    select(*_KNOWN).where(
        _c.tenant_id == bindparam("b_tenant"),
        _c.wa_id.in_(bindparam("b_wa_ids", expanding=True)),
    ),
    select(*_KNOWN).where(
        _c.tenant_id == bindparam("b_tenant"),
        _c.user_id.in_(bindparam("b_user_ids", expanding=True)),
    ),
)
_LEARN = (
    update(Contact)
    .where(_c.id == bindparam("b_id"))
    .values(
        wa_id=bindparam("b_wa_id"),
        user_id=bindparam("b_user_id"),
        name=bindparam("b_name"),
        updated_at=bindparam("b_now"),
    )
)
_other = Contact.__table__.alias("other")
_MOVE_WA_ID = (
    update(Contact)
    .where(
        _c.tenant_id == bindparam("b_tenant"),
        _c.wa_id == bindparam("b_old"),
        ~exists().where(_other.c.tenant_id == _c.tenant_id, _other.c.wa_id == bindparam("b_new")),
    )
    .values(wa_id=bindparam("b_new"), updated_at=bindparam("b_now"))
)
_MOVE_USER_ID = (
    update(Contact)
    .where(
        _c.tenant_id == bindparam("b_tenant"),
        _c.user_id == bindparam("b_old"),
        ~exists().where(_other.c.tenant_id == _c.tenant_id, _other.c.user_id == bindparam("b_new")),
    )
    .values(user_id=bindparam("b_new"), updated_at=bindparam("b_now"))
)


def _insert(dialect_name: str) -> Any:
    return (
        conflict_insert(dialect_name, Contact)
        .on_conflict_do_nothing()  # either identifier taken: a concurrent first message
        .returning(_c.id, _c.wa_id, _c.user_id)
    )


_INSERTS = {name: _insert(name) for name in ("sqlite", "postgresql")}


async def resolve_many(
    connection: AsyncConnection,
    tenant_id: int,
    people: Mapping[Person, str | None],
    now: datetime,
    *,
    likely_new: Callable[[Person], bool] | None = None,
) -> dict[Person, ContactRoute]:
    """The contact each person (with their WhatsApp profile name) is, made on their first message.

    A handful of statements for any number of people: the people `likely_new` names are inserted
    at once (one statement for the usual first message), the others looked up first. Known by
    either identifier: a missing one is filled in when a message brings it (when no other
    contact has it), and the profile name is kept until a member edits the name. Two contacts
    that turn out to be one person (one known by wa_id, one by user id) are not merged here: the
    older one is answered.
    """
    resolved: dict[Person, ContactRoute] = {}
    learned: dict[int, dict[str, Any]] = {}
    insert = [p for p in people if likely_new(p)] if likely_new else []
    # Whoever an insert did not make is looked for; whoever is not found is inserted (and found
    # on the next look when a concurrent insert beat ours).
    for _ in range(3):
        if insert:
            inserted = await connection.execute(
                _INSERTS[connection.dialect.name],
                [
                    {
                        "tenant_id": tenant_id,
                        "wa_id": p.wa_id,
                        "user_id": p.user_id,
                        "name": people[p],
                        "name_edited": False,
                        "is_blocked": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                    # In one order everywhere: two transactions inserting the same people
                    # wait for each other instead of deadlocking (PostgreSQL).
                    for p in sorted(insert, key=_order)
                ],
            )
            for row in inserted.all():
                resolved[Person(row.wa_id, row.user_id)] = ContactRoute(row.id, False, True)
        pending = [p for p in people if p not in resolved]
        if not pending:
            break
        rows: list[Any] = []
        for some in chunked(pending):
            found = await connection.execute(
                _FIND,
                {
                    "b_tenant": tenant_id,
                    "b_wa_ids": sorted({p.wa_id for p in some if p.wa_id}),
                    "b_user_ids": sorted({p.user_id for p in some if p.user_id}),
                },
            )
            rows.extend(found.all())
        by_wa_id = {r.wa_id: r for r in rows if r.wa_id is not None}
        by_user_id = {r.user_id: r for r in rows if r.user_id is not None}
        insert = []
        for person in pending:
            matches = [
                r
                for r in (
                    by_wa_id.get(person.wa_id) if person.wa_id else None,
                    by_user_id.get(person.user_id) if person.user_id else None,
                )
                if r is not None
            ]
            if not matches:
                insert.append(person)
                continue
            known = min(matches, key=lambda r: r.id)
            resolved[person] = ContactRoute(known.id, known.is_blocked)
            values = learned.get(known.id) or {
                "b_wa_id": known.wa_id,
                "b_user_id": known.user_id,
                "b_name": known.name,
            }
            if person.wa_id and values["b_wa_id"] is None and person.wa_id not in by_wa_id:
                values["b_wa_id"] = person.wa_id
            if person.user_id and values["b_user_id"] is None and person.user_id not in by_user_id:
                values["b_user_id"] = person.user_id
            name = people[person]
            if name and not known.name_edited:
                values["b_name"] = name
            if (values["b_wa_id"], values["b_user_id"], values["b_name"]) != (
                known.wa_id,
                known.user_id,
                known.name,
            ):
                learned[known.id] = values
        if not insert:
            break
    if learned:
        await connection.execute(
            _LEARN, [{"b_id": id_, "b_now": now, **values} for id_, values in learned.items()]
        )
    missing = [p for p in people if p not in resolved]
    if missing:
        raise RuntimeError(f"{len(missing)} contacts were neither found nor inserted")
    return resolved


def _order(person: Person) -> tuple[str, str]:
    return person.wa_id or "", person.user_id or ""


async def resolve(
    connection: AsyncConnection,
    tenant_id: int,
    *,
    wa_id: str | None,
    user_id: str | None,
    profile_name: str | None,
    now: datetime,
) -> ContactRoute:
    """The contact one message is from (see `resolve_many`)."""
    if not wa_id and not user_id:
        raise ValueError("a contact needs a wa_id or a user_id")
    person = Person(wa_id or None, user_id or None)
    return (await resolve_many(connection, tenant_id, {person: profile_name}, now))[person]


async def move(
    connection: AsyncConnection, tenant_id: int, moves: Sequence[Move], now: datetime
) -> list[int]:
    """Give contacts the new number or BSUID Meta says they changed to. The contact keeps its
    conversations and its block; when another contact already has the new identifier, the two
    stay apart (they are not merged here). Returns the ids of the contacts that have the new
    identifiers now (rare: one query more)."""
    for statement, pairs in (
        (_MOVE_WA_ID, [(m.wa_id, m.new_wa_id) for m in moves if m.wa_id and m.new_wa_id]),
        (
            _MOVE_USER_ID,
            [
                (m.previous_user_id, m.new_user_id)
                for m in moves
                if m.previous_user_id and m.new_user_id
            ],
        ),
    ):
        if pairs:
            await connection.execute(
                statement,
                [
                    {"b_tenant": tenant_id, "b_old": old, "b_new": new, "b_now": now}
                    for old, new in pairs
                ],
            )
    new_wa_ids = [m.new_wa_id for m in moves if m.wa_id and m.new_wa_id]
    new_user_ids = [m.new_user_id for m in moves if m.previous_user_id and m.new_user_id]
    moved = await connection.execute(
        select(_c.id).where(
            _c.tenant_id == tenant_id,
            or_(_c.wa_id.in_(new_wa_ids), _c.user_id.in_(new_user_ids)),
            _c.updated_at == now,
        )
    )
    return list(moved.scalars())
