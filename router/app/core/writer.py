"""Group commit: writes asked for at the same moment run together, in one transaction.

Webhooks and jobs each need a few small writes per message. Run one by one, every write costs a
transaction and a round trip to the database; at hundreds of messages a second that is the whole
budget. Here each write is a request to a *handler* (one kind of write, such as "store inbound
messages"), and a single writer takes every request waiting at that moment, calls each handler once
with all of its requests, and commits. A caller gets its answer only after the commit, so a webhook
still acknowledges only what is stored.

At low load a round holds one request and costs what a plain transaction would. A shared mechanism
fails per caller: one request that fails (the database refuses its data, or its handler raises on
it) must not fail the others in its round. Such a round is run again in halves, each half split
again while it fails, until the bad request fails alone: a bad request among n costs about
2·log2(n) extra transactions, not n. Only when the database itself is unreachable does the whole
round fail at once, since every request would meet the same error.
"""

import asyncio
import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = structlog.get_logger()

# A handler gets every request of its kind in the round and returns one result per request, in
# order. It runs inside the round's transaction and must not commit.
Handler = Callable[[AsyncConnection, list[Any]], Awaitable[list[Any]]]

MAX_ROUND = 1000


class EventSink(Protocol):
    """Where a round's events go (app/events/): stored in its transaction, last before the commit,
    and announced once it has committed."""

    async def record(self, connection: AsyncConnection, objects: dict[str, list[int]]) -> None: ...

    def committed(self) -> None: ...


@dataclass(slots=True)
class _Request:
    handler: Handler
    item: Any
    future: asyncio.Future[Any] = field(repr=False)


class GroupCommit:
    """One writer for this process. `handlers` are listed in the order they run within a round:
    the webhook's writes first, so an acknowledgement never waits behind a round of job writes."""

    def __init__(
        self, engine: AsyncEngine, handlers: Sequence[Handler], events: EventSink | None = None
    ) -> None:
        self._engine = engine
        self._sink = events
        self._events: dict[str, list[int]] = {}
        self._rank = {handler: rank for rank, handler in enumerate(handlers)}
        self._pending: list[_Request] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()  # nothing asked for and no round running
        self._idle.set()
        self._after_commit: list[tuple[Callable[..., None], tuple[Any, ...]]] = []

    async def write(self, handler: Handler, item: Any) -> Any:
        """Queue one write; return its handler's result once its round is committed."""
        if handler not in self._rank:
            raise ValueError(f"{handler!r} is not one of this writer's handlers")
        if self._writer is None:
            # A context of its own, not the first caller's: the writer serves every caller, and
            # must not carry one request's log bindings or trace into the others' writes.
            self._writer = asyncio.create_task(
                self._run(), name="group-commit", context=contextvars.Context()
            )
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append(_Request(handler, item, future))
        self._idle.clear()
        self._wake.set()
        return await future

    def after_commit(self, callback: Callable[..., None], *args: Any) -> None:
        """For a handler: call `callback(*args)` once the transaction it runs in has committed,
        and never if it does not (a round that fails and is run again in halves counts its
        writes once). Metrics count only what the store kept this way."""
        self._after_commit.append((callback, args))

    def add_events(self, type_: str, ids: Iterable[int]) -> None:
        """For a handler: an event of `type_` for each object id, stored in the transaction it runs
        in (so never for a write that does not commit) and announced after the commit."""
        if self._sink is not None:
            self._events.setdefault(type_, []).extend(ids)

    async def aclose(self) -> None:
        """Finish the rounds already asked for, then stop the writer."""
        if self._writer is None:
            return
        await self._idle.wait()
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        self._writer = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            # Requests that arrive while this round runs make up the next one.
            waiting = sorted(self._pending, key=lambda request: self._rank[request.handler])
            round_, rest = waiting[:MAX_ROUND], waiting[MAX_ROUND:]
            self._pending = rest
            if rest:
                self._wake.set()
            try:
                await self._commit(round_, fresh_connection=True)
            except Exception as exc:  # never lose the writer: fail this round's callers instead
                log.exception("store.round_crashed")
                _fail(round_, exc)
            if not self._pending:
                self._idle.set()

    async def _commit(self, round_: list[_Request], *, fresh_connection: bool = False) -> None:
        """Run a round in one transaction. With `fresh_connection`, a round that failed because the
        pooled connection had been dropped (a database restart) runs once more on a new one."""
        groups: dict[Handler, list[_Request]] = {}
        for request in round_:
            groups.setdefault(request.handler, []).append(request)
        self._after_commit = []
        self._events = {}
        try:
            results = []
            async with self._engine.begin() as connection:
                for handler, requests in groups.items():
                    outcome = await handler(connection, [r.item for r in requests])
                    results.append((requests, outcome))
                events = self._events
                if self._sink is not None and any(events.values()):
                    await self._sink.record(connection, events)
        except Exception as exc:
            if fresh_connection and isinstance(exc, DBAPIError) and exc.connection_invalidated:
                log.warning("store.connection_lost", detail="running the round again")
                await self._commit(round_)
                return
            if len(round_) == 1 or unreachable(exc):
                _fail(round_, exc)
                return
            log.warning("store.round_split", requests=len(round_), error=type(exc).__name__)
            half = len(round_) // 2
            await self._commit(round_[:half])  # in order: webhooks' writes still come first
            await self._commit(round_[half:])
            return
        for callback, args in self._after_commit:
            try:
                callback(*args)
            except Exception:  # committed already: its callers must hear so
                log.exception("store.after_commit_failed")
        if self._sink is not None and any(events.values()):
            self._sink.committed()  # never blocks: subscribers are told in the background
        for requests, outcome in results:
            for request, result in zip(requests, outcome, strict=True):
                if not request.future.done():  # its caller may have been cancelled
                    request.future.set_result(result)


def unreachable(exc: BaseException) -> bool:
    """The database could not be reached or cannot work now (so no request of a round can
    succeed), as opposed to one request's data or handler being at fault."""
    if isinstance(exc, OSError | PoolTimeout):  # refused, reset, timed out; no pooled connection
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    # asyncpg's SQLSTATE: class 08 connection, 53 out of resources, 57 shut down or cancelled,
    # 58 the server's own system error.
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate[:2] in {"08", "53", "57", "58"}
    # SQLite: the file cannot be opened, is locked past the busy timeout, or the disk failed.
    return isinstance(exc, OperationalError)


def refused(exc: BaseException) -> bool:
    """The database or its driver refused a request's data: the same request fails however often
    it is tried (unlike an unreachable database, a deadlock or a timeout)."""
    if isinstance(exc, ValueError | ArithmeticError | IntegrityError):
        return True  # a value the driver cannot encode (a lone surrogate, a 2**64), a constraint
    # asyncpg's SQLSTATE: class 22 bad data, 23 a constraint.
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate[:2] in {"22", "23"}


def _fail(requests: list[_Request], exc: BaseException) -> None:
    for request in requests:
        if not request.future.done():
            request.future.set_exception(exc)
