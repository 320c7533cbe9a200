"""All SQL the router runs on messages: one repository per job, composed here.

Writes go through one group-commit writer (`app/core/writer.py`): the writes that concurrent
webhooks and jobs ask for at the same moment share a transaction, and each kind of write is one
statement for all of them. The statements are built once, with bind parameters, so a write costs
the database's time and not SQLAlchemy's. Reads use their own connections.

- `inbound` (app/inbound/repository.py): the webhook's writes (new messages placed in their
  conversations, statuses)
- `statuses` (app/statuses/repository.py): outbound messages moving forwards with status webhooks;
  trackers
- `leases` (app/jobs/leases.py): job leases (claim, extend, release, what a restart resumes)
- `replies` (app/outbound/repository.py): a job's writes (reply parts, accepted and failed sends,
  endings)
- `reads` (app/messages/reads.py): the management API (counts, pages, one message, retry)
- `turns` (app/routing/repository.py): burst debounce's turns (a contact's burst, written once as
  one turn)
- `media` (app/media/repository.py): a message's file moving from pending to stored or failed
- `app/messages/common.py`: the tables, conditions and result types they share
"""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.channels.directory import ChannelDirectory
from app.core.writer import EventSink, GroupCommit
from app.events.hub import EventRecorder
from app.inbound.repository import InboundRepository
from app.jobs.leases import LeaseRepository
from app.media.repository import MediaRepository
from app.messages.common import (
    CHANNEL_CACHE_SECONDS,
    STATUS_CHUNK,
    Claim,
    Ending,
    Ingested,
    MessageSlice,
    Shared,
    Start,
)
from app.messages.reads import ManagementReads
from app.observability.metrics import Metrics
from app.outbound.repository import ReplyRepository
from app.routing.repository import TurnRepository
from app.statuses.repository import StatusRepository

__all__ = [
    "STATUS_CHUNK",
    "Claim",
    "Ending",
    "Ingested",
    "MessageRepository",
    "MessageSlice",
    "Start",
]


class MessageRepository:
    """The message path's repositories, sharing one engine and one group-commit writer."""

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        directory: ChannelDirectory | None = None,
        metrics: Metrics | None = None,
        events: EventSink | None = None,
    ) -> None:
        """`events`: where the message path's events go (the process's EventHub); without it they
        are stored and nobody here is told."""
        self._engine = engine
        self.directory = directory or ChannelDirectory(engine, CHANNEL_CACHE_SECONDS)
        shared = Shared(engine, sessions, self.directory, metrics or Metrics())
        self.statuses = StatusRepository(shared)
        self.inbound = InboundRepository(shared, self.statuses)
        self.leases = LeaseRepository(shared)
        self.replies = ReplyRepository(shared, self.statuses)
        self.reads = ManagementReads(shared)
        self.turns = TurnRepository(shared)
        self.media = MediaRepository(shared)
        # Listed in the order they run within a round: the webhook's writes first.
        shared.writer = self._writer = GroupCommit(
            engine,
            [
                self.inbound._store_webhooks,
                self.replies._finish_many,
                self.replies._accept_many,
                self.leases._claim_many,
                self.replies._add_replies_many,
                shared.each,
            ],
            events or EventRecorder(),
        )

    async def ping(self) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def aclose(self) -> None:
        """Commit the writes already asked for; call before disposing of the engine."""
        await self._writer.aclose()
