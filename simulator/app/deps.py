"""Typed dependencies: the Simulator built by the lifespan, reached through the request's state."""

from typing import Annotated, cast

from fastapi import Depends, Request

from app.simulator import Simulator


def get_simulator(request: Request) -> Simulator:
    return cast(Simulator, request.state.simulator)


SimulatorDep = Annotated[Simulator, Depends(get_simulator)]
