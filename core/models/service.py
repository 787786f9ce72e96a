"""What each running ``arena serve`` process reports about its parts (``arena status`` reads it).

One row per (instance, component): an instance is one process (``host:pid:random``), a component
is ``database``, ``scheduler``, ``outbox`` or a chat adapter (``telegram``, ``discord``). The
process rewrites its rows every few seconds (``updated_at``, wall-clock UTC); a row older than a
few heartbeats belongs to a process that stopped or lost the database, and readers say so.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base


class ServiceComponent(Base):
    __tablename__ = "service_components"
    __table_args__ = (UniqueConstraint("instance", "component"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance: Mapped[str] = mapped_column(String(80))
    component: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20))  # see core.health.State
    detail: Mapped[str] = mapped_column(String(500), default="")
    since: Mapped[datetime]  # when the component entered this state
    updated_at: Mapped[datetime]  # the process's last heartbeat
