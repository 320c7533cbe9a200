"""Where a request finds what the lifespan opened: `request.state.lifespan`, a `State`
(`app/lifespan.py`, which also has the typed dependencies endpoints use)."""

from typing import Any

from starlette.requests import HTTPConnection

STATE_KEY = "lifespan"


def state_of(connection: HTTPConnection) -> Any:
    """The lifespan's `State`, for the few places below app/lifespan.py that need it."""
    return getattr(connection.state, STATE_KEY)


async def lifespan_state(connection: HTTPConnection) -> Any:
    """`state_of` as a dependency. Async: FastAPI runs a plain `def` dependency in a thread pool,
    a hop each request would pay for."""
    return state_of(connection)
