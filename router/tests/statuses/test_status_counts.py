"""router_messages_total counts what the store kept: a status that moves no message is not a
transition, and the writes of a group-commit round count once it committed, never the attempts
of a round that failed and ran again in halves."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.channels.seed import seed_default_channel
from app.core.engine import session_factory
from app.inbound.payload import InboundMessage, StatusUpdate
from app.messages.models import InboundStatus, Message, OutboundStatus
from app.messages.store import STATUS_CHUNK, MessageRepository
from app.observability.metrics import Metrics

from ..backends import migrated_store
from ..conftest import make_settings
from ..meta import parsed_text


class Recorded(Metrics):
    """What the repository told the metrics."""

    def __init__(self) -> None:
        self.moves: Counter[tuple[str, str]] = Counter()

    def message_status(self, direction: str, status: str, count: int = 1) -> None:
        if count > 0:
            self.moves[(direction, str(status))] += count


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_store(request.param, tmp_path) as engine:
        # The number the messages below are written to is a channel: they are routed, not unrouted.
        await seed_default_channel(engine, make_settings(whatsapp_phone_number_id="123"))
        yield engine


def inbound(n: int) -> InboundMessage:
    return parsed_text(f"wamid.in.{n}", f"text {n}", wa_id=f"1555{n:07d}", phone_number_id="123")


def status(wamid: str, name: str, code: int | None = None) -> StatusUpdate:
    return StatusUpdate(
        wamid=wamid,
        status=name,
        phone_number_id="123",
        recipient=None,
        timestamp="1",
        error_code=code,
        error_title="Message undeliverable" if code else None,
    )


async def accepted_replies(repository: MessageRepository, count: int) -> list[str]:
    """`count` replies the Graph API accepted: their wamids."""
    ids = await repository.inbound.store_webhook([inbound(n) for n in range(count)], [], "r")
    wamids = []
    for n, id_ in enumerate(ids):
        claim = await repository.leases.claim(id_, 30)
        assert claim is not None
        [part] = await repository.replies.add_replies(claim.message, ["hi"], f"{id_}.0.t")
        await repository.replies.accept(part.id, f"wamid.out.{n}")
        wamids.append(f"wamid.out.{n}")
    return wamids


async def statuses_of(engine: AsyncEngine, wamids: list[str]) -> list[str]:
    c = Message.__table__.c
    async with engine.connect() as connection:
        rows = await connection.execute(select(c.wamid, c.status).where(c.wamid.in_(wamids)))
        found = dict(rows.all())
    return [found[wamid] for wamid in wamids]


async def test_statuses_count_only_the_messages_they_move(engine: AsyncEngine) -> None:
    metrics = Recorded()
    repository = MessageRepository(engine, session_factory(engine), metrics=metrics)
    first, second, third = await accepted_replies(repository, 3)
    metrics.moves.clear()

    # Meta batches: one body, out of order, with a repeat and a wamid that is not ours.
    await repository.inbound.store_webhook(
        [],
        [
            status(first, "read"),
            status(first, "sent"),
            status(first, "delivered"),
            status(second, "delivered"),
            status(second, "delivered"),
            status("wamid.someone.else", "sent"),
            status(third, "failed", 131026),
        ],
        "r",
    )
    in_one_body = metrics.moves.copy()
    metrics.moves.clear()
    # Delivered again, and late ones: nothing moves any more.
    await repository.inbound.store_webhook(
        [], [status(second, "delivered"), status(second, "sent"), status(first, "failed", 1)], "r"
    )
    await repository.aclose()

    assert await statuses_of(engine, [first, second, third]) == ["read", "delivered", "failed"]
    # Within one body a message passes through each status it is sent, lowest first.
    assert in_one_body == {
        ("outbound", OutboundStatus.SENT): 1,
        ("outbound", OutboundStatus.DELIVERED): 2,
        ("outbound", OutboundStatus.READ): 1,
        ("outbound", OutboundStatus.FAILED): 1,
    }
    assert metrics.moves == {}


async def test_statuses_beyond_one_statement_are_all_counted(engine: AsyncEngine) -> None:
    metrics = Recorded()
    repository = MessageRepository(engine, session_factory(engine), metrics=metrics)
    wamids = await accepted_replies(repository, 3)
    metrics.moves.clear()
    # More wamids than one statement takes, most of them nobody's.
    strangers = [f"wamid.stranger.{n}" for n in range(STATUS_CHUNK + 10)]
    await repository.inbound.store_webhook(
        [], [status(wamid, "sent") for wamid in [*strangers, *wamids]], "r"
    )
    await repository.aclose()

    assert metrics.moves == {("outbound", OutboundStatus.SENT): 3}


async def test_a_round_run_again_in_halves_counts_what_it_stored_once(
    engine: AsyncEngine,
) -> None:
    metrics = Recorded()
    repository = MessageRepository(engine, session_factory(engine), metrics=metrics)
    [id_] = await repository.inbound.store_webhook([inbound(0)], [], "r")
    claim = await repository.leases.claim(id_, 30)
    assert claim is not None
    metrics.moves.clear()
    # In the round with the webhooks, a reply the driver cannot encode (a lone surrogate): its
    # write fails after theirs ran, and the round is run again in halves.
    outcomes = await asyncio.gather(
        *(repository.inbound.store_webhook([inbound(n)], [], "r") for n in range(1, 11)),
        repository.replies.add_replies(claim.message, ["x\ud800"], "t"),
        return_exceptions=True,
    )
    await repository.aclose()

    assert [isinstance(outcome, Exception) for outcome in outcomes] == [False] * 10 + [True]
    assert metrics.moves == {("inbound", InboundStatus.RECEIVED): 10}
