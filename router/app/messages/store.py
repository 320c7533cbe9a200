"""All SQL the router runs on messages, one module per job.

Writes go through one group-commit writer (`batch.GroupCommit`): the writes that concurrent
webhooks and jobs ask for at the same moment share a transaction, and each kind of write is one
statement for all of them. The statements are built once, with bind parameters, so a write costs
the database's time and not SQLAlchemy's. Reads use their own connections.

- `ingest.py`: the webhook's writes (new messages placed in their conversations, statuses)
- `statuses.py`: outbound messages moving forwards with status webhooks; trackers
- `leases.py`: job leases (claim, extend, release, what a restart resumes)
- `replies.py`: a job's writes (reply parts, accepted and failed sends, endings)
- `reads.py`: the management API (counts, pages, one message, retry)
- `turns.py`: burst debounce's turns (a contact's burst, written once as one turn)
- `common.py`: the tables, conditions and result types they share
"""

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.channels.directory import ChannelDirectory
from app.core.writer import EventSink, GroupCommit
from app.events.hub import EventRecorder
from app.inbound.ingest import RecentPeople
from app.inbound.repository import WebhookIngest
from app.jobs.leases import JobLeases
from app.messages.common import (
    CHANNEL_CACHE_SECONDS,
    STATUS_CHUNK,
    Claim,
    Ending,
    Ingested,
    Page,
    Start,
)
from app.messages.reads import ManagementReads
from app.observability.metrics import Metrics
from app.outbound.repository import ReplyWrites
from app.routing.repository import TurnWrites

__all__ = [
    "STATUS_CHUNK",
    "Claim",
    "Ending",
    "Ingested",
    "MessageRepository",
    "Page",
    "Start",
]


class MessageRepository(WebhookIngest, JobLeases, ReplyWrites, ManagementReads, TurnWrites):
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
        self._sessions = sessions
        self.directory = directory or ChannelDirectory(engine, CHANNEL_CACHE_SECONDS)
        self._recent = RecentPeople()
        self._metrics = metrics or Metrics()
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        for build in (
            self._build_shared,
            self._build_statuses,
            self._build_ingest,
            self._build_leases,
            self._build_replies,
            self._build_turns,
        ):
            build(dialect)
        # Listed in the order they run within a round: the webhook's writes first.
        self._writer = GroupCommit(
            engine,
            [
                self._store_webhooks,
                self._finish_many,
                self._accept_many,
                self._claim_many,
                self._add_replies_many,
                self._each,
            ],
            events or EventRecorder(),
        )
