"""Child-process bodies for the exchange concurrency tests (importable by ``spawn`` children).
Each opens its own :class:`core.db.Database`; results come back as plain dicts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core import exchange
from core.db import Database
from core.errors import ArenaError


def place_loop(
    url: str, wallet: int, side: str, symbol: str, qty: str, price: str, rounds: int, tag: str
) -> dict[str, Any]:
    import core.risk  # noqa: F401 - the production trade checks, as the composition root installs them

    db = Database(url)
    placed, errors = [], []
    try:
        for i in range(rounds):
            try:
                placed.append(
                    exchange.place_order(
                        db.uow(), wallet, side, symbol, qty, price, idempotency_key=f"{tag}-{i}"
                    ).to_dict()
                )
            except ArenaError as error:
                errors.append(f"{type(error).__name__}: {error}")
    finally:
        db.dispose()
    return {"placed": placed, "errors": errors}


def ask_once(url: str, wallet: int, symbol: str, qty: str, price: str, key: str) -> dict[str, Any]:
    db = Database(url)
    try:
        order = exchange.place_order(db.uow(), wallet, "ask", symbol, qty, price, idempotency_key=key)
        return {"ok": order.to_dict()}
    except ArenaError as error:
        return {"error": type(error).__name__, "message": str(error)}
    finally:
        db.dispose()


def call_target(target: Callable[..., dict[str, Any]], args: tuple[Any, ...]) -> dict[str, Any]:
    """Lets ``run_parallel`` start children that each run a different function."""
    return target(*args)
