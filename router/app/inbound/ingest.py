"""Where each new message of a webhook belongs: the channel of the number it was sent to, the
contact who wrote it, and that contact's conversation on the channel.

Runs inside the webhook's group-commit round, on its connection, so the 200 still means stored:
a few statements for the whole round, however many messages it carries (the channel of a number
is kept in memory, `channels/directory.py`). A message to a number no channel has is placed
nowhere: it is kept as `unrouted`.
"""

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from app.channels import repository as channels
from app.channels.directory import ChannelDirectory
from app.channels.repository import NumberRoute
from app.contacts import repository as contacts
from app.contacts.repository import Move, Person
from app.conversations import repository as conversations
from app.conversations.repository import Arrival
from app.inbound.payload import InboundMessage

SYSTEM = "system"  # Meta's notices about a contact (a new number): not the contact writing


class RecentPeople:
    """Who wrote to this process lately, by tenant. The next message of someone here is most
    likely from a contact that exists, so it is looked up first; anyone else is most likely
    writing for the first time, so the contact is inserted first. Either way the answer is the
    same: only which of two statements comes first depends on this, and a round costs one
    statement fewer when it guesses right."""

    def __init__(self, size: int = 50_000) -> None:
        self._size = size
        self._seen: OrderedDict[tuple[int, Person], None] = OrderedDict()

    def likely_new(self, tenant_id: int) -> Callable[[Person], bool]:
        return lambda person: (tenant_id, person) not in self._seen

    def saw(self, tenant_id: int, people: Iterable[Person]) -> None:
        for person in people:
            self._seen[(tenant_id, person)] = None
            self._seen.move_to_end((tenant_id, person))
        while len(self._seen) > self._size:
            self._seen.popitem(last=False)


@dataclass(frozen=True, slots=True)
class Placement:
    tenant_id: int
    channel_id: int
    contact_id: int
    conversation_id: int
    opened: bool = False  # the conversation was opened for this message (conversation.created)


async def place(
    connection: AsyncConnection,
    messages: Sequence[InboundMessage],
    directory: ChannelDirectory,
    recent: RecentPeople,
    now: datetime,
    moved: list[int] | None = None,
) -> list[Placement | None]:
    """Each message's placement, in order; None for a message to an unknown number. The ids of
    contacts whose number or BSUID changed are added to `moved`."""
    routes = await directory.routes(connection, {m.phone_number_id for m in messages})
    await _learn(connection, messages, routes, directory, now)
    by_tenant: dict[int, list[int]] = {}
    for index, message in enumerate(messages):
        route = routes[message.phone_number_id]
        if route is not None:
            by_tenant.setdefault(route.tenant_id, []).append(index)

    contact_of: dict[int, int] = {}  # message index -> contact id
    new_contacts: set[int] = set()
    for tenant_id, indexes in by_tenant.items():
        moves = [_move(messages[i]) for i in indexes if messages[i].identity_change]
        if moves:
            changed = await contacts.move(connection, tenant_id, moves, now)
            if moved is not None:
                moved.extend(changed)
        people: dict[Person, str | None] = {}
        for i in indexes:
            person = _person(messages[i])
            people[person] = messages[i].name or people.get(person)
        resolved = await contacts.resolve_many(
            connection, tenant_id, people, now, likely_new=recent.likely_new(tenant_id)
        )
        recent.saw(tenant_id, people)
        for i in indexes:
            found = resolved[_person(messages[i])]
            contact_of[i] = found.contact_id
            if found.created:
                new_contacts.add(found.contact_id)

    arrivals = {}
    for i, contact_id in contact_of.items():
        route = routes[messages[i].phone_number_id]
        assert route is not None
        arrivals[i] = Arrival(
            route.tenant_id, route.channel_id, contact_id, inbound=messages[i].type != SYSTEM
        )
    opened = await conversations.continue_or_open_many(
        connection, list(arrivals.values()), at=now, new_contacts=frozenset(new_contacts)
    )
    return [
        Placement(
            a.tenant_id,
            a.channel_id,
            a.contact_id,
            opened[a.key].conversation_id,
            opened[a.key].opened,
        )
        if (a := arrivals.get(i)) is not None
        else None
        for i in range(len(messages))
    ]


def _person(message: InboundMessage) -> Person:
    """Whom the message is from; a message saying they changed names them as they are now."""
    change = message.identity_change
    if change is None:
        return Person(message.wa_id, message.user_id)
    user_id = change.new_user_id if change.previous_user_id else message.user_id
    return Person(change.new_wa_id or message.wa_id, user_id or message.user_id)


def _move(message: InboundMessage) -> Move:
    change = message.identity_change
    assert change is not None
    return Move(message.wa_id, change.new_wa_id, change.previous_user_id, change.new_user_id)


async def _learn(
    connection: AsyncConnection,
    messages: Sequence[InboundMessage],
    routes: dict[str, NumberRoute | None],
    directory: ChannelDirectory,
    now: datetime,
) -> None:
    """Channels made without their WABA id or display number take them from the webhook."""
    learned: dict[str, NumberRoute] = {}
    for message in messages:
        route = learned.get(message.phone_number_id) or routes[message.phone_number_id]
        if route is None:
            continue
        waba_id = route.waba_id or message.waba_id
        display = route.display_phone_number or message.display_phone_number
        if (waba_id, display) != (route.waba_id, route.display_phone_number):
            learned[message.phone_number_id] = replace(
                route, waba_id=waba_id, display_phone_number=display
            )
    if learned:
        await channels.learn(
            connection,
            [(r.channel_id, r.waba_id, r.display_phone_number) for r in learned.values()],
            now,
        )
        for number, route in learned.items():
            directory.learned(number, route)
