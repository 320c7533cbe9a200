from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class Worker(Base):
    """A router process that runs jobs, as its last heartbeat described it (app/monitoring/
    heartbeat.py). A row not renewed for a minute is a process that stopped or died."""

    __tablename__ = "workers"
    __table_args__ = (Index("ix_workers_seen_at", "seen_at"),)

    # Made up at each start: a process id alone repeats across hosts and containers.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    queue: Mapped[str] = mapped_column(String(16))  # memory, redis or rabbitmq
    started_at: Mapped[datetime] = mapped_column()
    seen_at: Mapped[datetime] = mapped_column()
    running: Mapped[int] = mapped_column(Integer)  # jobs running in it at its last heartbeat
    # Its circuit breakers at its last heartbeat (schemas.Circuit, as JSON).
    circuits: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
