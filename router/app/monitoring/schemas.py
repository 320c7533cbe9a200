from typing import Literal

from pydantic import BaseModel, Field

from app.core.schemas import Output, UtcDateTime


class Circuit(Output):
    name: str = Field(description="`server`: the Server's /process")
    state: Literal["closed", "half_open", "open"]
    failures: int = Field(description="failures in a row so far, while closed")
    threshold: int = Field(description="failures in a row that open it")
    ttl_seconds: float = Field(description="how long it stays open before a trial call")
    opened_at: UtcDateTime | None
    half_opens_at: UtcDateTime | None = Field(
        description="open: when the next call goes through as a trial, which closes it again "
        "or opens it for another pause"
    )
    opens_after_failures: int | None = Field(
        description="closed: how many more failures in a row open it"
    )


class ProcessCircuits(BaseModel):
    worker: str | None = Field(
        description="the worker's id (as in /monitoring/queue); null for the process answering "
        "when it runs no jobs"
    )
    hostname: str
    pid: int
    this_process: bool = Field(
        description="the process that answered: read now, not at its last heartbeat"
    )
    reported_at: UtcDateTime
    circuits: list[Circuit]


class Circuits(BaseModel):
    items: list[ProcessCircuits]


class WorkerOut(Output):
    id: str
    hostname: str
    pid: int
    queue: Literal["memory", "redis", "rabbitmq"]
    started_at: UtcDateTime
    seen_at: UtcDateTime = Field(description="its last heartbeat")
    running: int = Field(description="jobs running in it at its last heartbeat")


class QueueOut(BaseModel):
    depth: int = Field(description="inbound messages waiting for a worker")
    oldest_age_seconds: float = Field(
        description="how long the oldest of them has waited; 0 when none"
    )
    in_flight: int = Field(description="inbound messages a worker holds now")
    retrying: int = Field(description="unfinished inbound messages after more than one attempt")
    failed: int = Field(description="messages that failed, both directions: the dead letters")
    workers: list[WorkerOut] = Field(
        description="the router processes running jobs (ROUTER_PROCESS_JOBS=true) whose last "
        "heartbeat is under a minute old"
    )


class RateLimit(BaseModel):
    phone_number_id: str
    messages_per_second: int = Field(description="the configured budget")
    window: Literal["shared", "process"] = Field(
        description="shared: the budget is kept in Redis, for every router process; process: "
        "each process keeps its own"
    )
    sent_last_second: int | None = Field(
        description="sends in the last second as the budget's window holds them (every "
        "process's when shared); null when its store does not answer"
    )
    sent_last_minute: int = Field(description="this process's sends in the last minute")
    waits: int = Field(description="this process's sends that waited for the budget")
    waited_seconds: float = Field(description="how long they waited, in all")
    throttled: int = Field(description="this process's sends Meta refused with 130429")


class RateLimits(BaseModel):
    items: list[RateLimit]


Health = Literal["ok", "unavailable"]


class QueueHealth(QueueOut):
    status: Health = Field(
        description="ok: the queue answers; unavailable: it does not (answered with a 503)"
    )
    queue: Literal["memory", "redis", "rabbitmq"] = Field(
        description="where the jobs wait: this process (memory), Redis or RabbitMQ"
    )


class RateLimitHealth(BaseModel):
    status: Health = Field(
        description="ok: the rate limit's store answers; unavailable: it does not, and no send "
        "can go out until it does (answered with a 503)"
    )
    store: Literal["memory", "redis"] = Field(
        description="where the send budgets are kept: this process's memory, or Redis"
    )
    window: Literal["shared", "process"] = Field(
        description="shared: one budget per number for every router process; process: each "
        "process keeps its own"
    )
    messages_per_second: int = Field(description="the configured budget per number")
