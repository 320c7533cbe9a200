"""What the lifespan opened, for an endpoint: `Annotated[Settings, from_state("settings")]`."""

from typing import Any

from fastapi import Depends, Request


def from_state(name: str) -> Any:
    """A dependency answering the request state's `name` (the lifespan's state, `app/main.py`).

    Typed by the `Annotated` it stands in. Async: FastAPI runs a plain `def` dependency in a
    thread pool, a hop each request would pay for."""

    async def get(request: Request) -> Any:
        return getattr(request.state, name)

    get.__name__ = f"get_{name}"
    return Depends(get)
