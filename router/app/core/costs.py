"""What this process's work costs, counted: SQL statements and commits, HTTP requests it makes,
asyncio tasks it creates, log lines it writes.

Plain integers, incremented where the work happens (an addition each, nothing looked up), read
by `GET /metrics` as the `router_*_total` counters (`exposition.py`) and by `make bench`, which
divides what a burst added by the replies it made. They count per process: with several workers
on one port (PROMETHEUS_MULTIPROC_DIR), a scrape reports the process that served it.
"""

import asyncio
from collections.abc import Coroutine, Generator
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass
class Costs:
    statements: int = 0  # SQL statements sent (an executemany is one)
    commits: int = 0  # transactions committed
    http_requests: int = 0  # HTTP requests made: the Server, the Graph API, agents' backends
    tasks: int = 0  # asyncio tasks created on the running loop, the libraries' included
    log_lines: int = 0  # structlog lines written (below LOG_LEVEL a call writes none)

    def as_dict(self) -> dict[str, int]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


COSTS = Costs()


def count_statements(engine: AsyncEngine) -> None:
    """Counts `engine`'s statements and commits into COSTS."""
    event.listen(engine.sync_engine, "before_cursor_execute", _statement)
    event.listen(engine.sync_engine, "commit", _commit)


def _statement(*_: Any) -> None:
    COSTS.statements += 1


def _commit(*_: Any) -> None:
    COSTS.commits += 1


def count_line() -> None:
    COSTS.log_lines += 1


def count_tasks(loop: asyncio.AbstractEventLoop) -> bool:
    """Counts the tasks created on `loop` into COSTS; False (and nothing done) when the loop has a
    task factory of its own already."""
    if loop.get_task_factory() is not None:
        return False
    loop.set_task_factory(_counted_task)
    return True


def stop_counting_tasks(loop: asyncio.AbstractEventLoop) -> None:
    if loop.get_task_factory() is _counted_task:
        loop.set_task_factory(None)


def _counted_task(
    loop: asyncio.AbstractEventLoop,
    coro: Coroutine[Any, Any, Any] | Generator[Any, None, Any],
    **kwargs: Any,
) -> "asyncio.Task[Any]":
    COSTS.tasks += 1
    return asyncio.Task(coro, loop=loop, **kwargs)
