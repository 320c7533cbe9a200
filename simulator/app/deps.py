"""Typed dependencies: the Simulator built by the lifespan, reached through the request's state."""

from typing import Annotated, cast

from fastapi import Depends, Request

from app.simulator import Simulator


def simulator_of(request: Request) -> Simulator:
    return cast(Simulator, request.state.simulator)


async def get_simulator(request: Request) -> Simulator:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request.
    return simulator_of(request)


SimulatorDep = Annotated[Simulator, Depends(get_simulator)]
