"""What a handler gets: the session, who is asking (user row and effective role) and the hooks.

``Hooks`` are functions the composition root (``bot/``) wires in for work that lives outside
``core`` (the import pipeline, backtests): ``core`` never imports ``parser`` or ``backtest``. A hook
left as ``None`` makes its command answer that the feature is not available in this deployment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from core.clock import Clock
from core.commands.types import Identity, OutboundMessage
from core.config import Settings
from core.db import Database
from core.models.compliance import Role, User

if TYPE_CHECKING:
    from core.statements.performance import RiskFreeRates


@dataclass(slots=True)
class Hooks:
    """Optional integrations, each a plain function (called from a worker thread)."""

    #: (url, idempotency key) -> human summary of what was imported.
    import_url: Callable[[str, str], str] | None = None
    #: candidate id -> human summary of its backtest.
    run_backtest: Callable[[int], str] | None = None
    #: () -> human list of strategy candidates.
    list_strategies: Callable[[], str] | None = None
    #: () -> the 3-month T-bill yields for statements (``core.statements.RiskFreeRates``).
    risk_free: Callable[[], RiskFreeRates] | None = None
    #: (text or URL, organisation id, user id[, channel="chat"|"api"]) -> reply: store a submitted
    #: write-up, credit the org.
    submit_source: Callable[..., str] | None = None


@dataclass(slots=True)
class Ctx:
    """Per-command context. ``user`` is None for someone who never wrote anything yet."""

    db: Database
    session: Session
    settings: Settings
    identity: Identity
    user: User | None
    role: Role
    hooks: Hooks
    #: Messages to push to *other* chats once the command commits (e.g. co-owners of a wallet).
    outbox: list[OutboundMessage] = field(default_factory=list)

    @property
    def clock(self) -> Clock:
        return self.db.clock

    def now(self) -> datetime:
        return self.db.clock.now()
