"""Typed dependencies: the long-lived objects the lifespan opened, for the endpoints."""

from typing import Annotated

from fastapi import Depends, Request

from app.backend import Backend
from app.pipeline import Pipeline
from app.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.state.settings
    return settings


def get_pipeline(request: Request) -> Pipeline:
    pipeline: Pipeline = request.state.pipeline
    return pipeline


def get_backend(request: Request) -> Backend:
    backend: Backend = request.state.backend
    return backend


SettingsDep = Annotated[Settings, Depends(get_settings)]
PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]
BackendDep = Annotated[Backend, Depends(get_backend)]
