"""The running service's health: one small, thread-safe registry of component states.

``arena serve`` records here what each of its parts is doing — the database, the scheduler, the
outbox sender and every chat adapter — and publishes the snapshot to the ``service_components``
table (so ``arena status`` in another process can show it) and to any health endpoint that wants
it (the web services reuse :func:`registry`). Nothing here talks to a network or a database.

States: ``starting`` -> ``up``; ``retrying`` while a part cannot reach what it needs (the detail
says what and when the next attempt is); ``standby`` for a scheduler waiting for the lock;
``stopping`` / ``stopped`` during shutdown; ``disabled`` for a part not configured. Times are
aware UTC datetimes of the wall clock (health is about real time, not the business clock).
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from datetime import UTC, datetime


class State(enum.StrEnum):
    STARTING = "starting"
    UP = "up"
    RETRYING = "retrying"
    STANDBY = "standby"
    STOPPING = "stopping"
    STOPPED = "stopped"
    DISABLED = "disabled"


#: Components whose trouble makes the whole service unhealthy (a chat platform being down does not:
#: the books keep running without it).
ESSENTIAL = frozenset({"database", "scheduler"})


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    component: str
    state: State
    detail: str
    since: datetime

    def as_dict(self) -> dict[str, str]:
        return {
            "component": self.component,
            "state": self.state.value,
            "detail": self.detail,
            "since": self.since.isoformat(),
        }


class HealthRegistry:
    """Component -> :class:`ComponentStatus`; ``set`` keeps ``since`` while the state is unchanged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, ComponentStatus] = {}

    def set(self, component: str, state: State, detail: str = "") -> None:
        now = datetime.now(UTC)
        with self._lock:
            old = self._items.get(component)
            since = old.since if old is not None and old.state is state else now
            self._items[component] = ComponentStatus(component, state, detail[:500], since)

    def get(self, component: str) -> ComponentStatus | None:
        with self._lock:
            return self._items.get(component)

    def snapshot(self) -> list[ComponentStatus]:
        with self._lock:
            return sorted(self._items.values(), key=lambda s: s.component)

    def healthy(self) -> bool:
        """True unless an essential component is retrying or stopped (standby counts as healthy)."""
        bad = {State.RETRYING, State.STOPPED, State.STARTING}
        return not any(s.component in ESSENTIAL and s.state in bad for s in self.snapshot())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_REGISTRY = HealthRegistry()


def registry() -> HealthRegistry:
    """The process-wide registry (one service per process)."""
    return _REGISTRY
