"""The command registry: one handler per row of the permission table.

Handlers are plain functions ``(ctx, cmd) -> Reply`` registered with :func:`handles`. They run
inside the dispatcher's unit of work (``ctx.session``) unless registered with
``own_transaction=True`` (slow work such as imports and backtests, which must not hold the SQLite
write lock): those must not use ``ctx.session`` and open their own units of work via ``ctx.db``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.commands.types import Command, Reply

if TYPE_CHECKING:
    from core.commands.context import Ctx

Handler = Callable[["Ctx", Command], Reply]


@dataclass(frozen=True, slots=True)
class Registration:
    handler: Handler
    own_transaction: bool = False
    slow: bool = False  # adapters defer/acknowledge before running it
    read_only: bool = False  # runs in a read-only unit of work (no write lock, nothing committed)


HANDLERS: dict[str, Registration] = {}


def handles(
    name: str, *, own_transaction: bool = False, slow: bool = False, read_only: bool = False
) -> Callable[[Handler], Handler]:
    """Register ``fn`` as the handler of ``/name`` (a name may be registered once)."""

    def decorator(fn: Handler) -> Handler:
        if name in HANDLERS:
            raise RuntimeError(f"command /{name} registered twice")
        HANDLERS[name] = Registration(fn, own_transaction, slow, read_only)
        return fn

    return decorator


def load_all() -> dict[str, Registration]:
    """Import every handler module (registration happens on import) and return the registry."""
    from core.commands import handlers  # noqa: F401  (side effect: registration)

    return HANDLERS
