"""Child-process bodies for the lock-order regression (importable by ``spawn`` children).

Each child opens its own :class:`core.db.Database` on the same PostgreSQL database. The pause
inside a transaction is installed in the child through a public extension point (an engine event),
never in production code; the parent orchestrates with multiprocessing events and by watching
``pg_stat_activity`` for a backend that waits on a lock — conditions, not sleeps.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event, text

from core import ledger
from core.clock import SimulatedClock
from core.db import Database
from core.risk import install, process_queue_in


def _open(url: str, clock_iso: str) -> Database:
    install()  # the real pre-trade checks, as every entry point has them
    return Database(url, clock=SimulatedClock(datetime.fromisoformat(clock_iso)))


def buy_pausing_after_token_lock(
    url: str, wallet_id: int, symbol: str, cash: str, key: str, clock_iso: str, holds: Any, go: Any
) -> dict[str, Any]:
    """Buy; right after the token row is locked, signal ``holds`` and wait for ``go``."""
    db = _open(url, clock_iso)
    paused = {"done": False}

    @event.listens_for(db.engine, "after_cursor_execute")
    def _pause(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not paused["done"] and "FOR UPDATE" in statement and "strategy_tokens" in statement:
            paused["done"] = True
            holds.set()
            if not go.wait(120):
                raise TimeoutError("the parent never released the buy")

    try:
        return {"ok": ledger.buy(db.uow(), wallet_id, symbol, cash, idempotency_key=key).to_dict()}
    except Exception as error:  # reported to the parent, which asserts on it
        return {"error": type(error).__name__, "message": str(error)[:300]}
    finally:
        db.dispose()


def release_queue(url: str, clock_iso: str) -> dict[str, Any]:
    """The risk job's queue step: pay due queued redemptions (one transaction)."""
    db = _open(url, clock_iso)
    try:
        with db.uow() as uow:
            done = process_queue_in(uow.session, uow.clock.now())
            uow.commit()
        return {"ok": [o.to_dict() for o in done]}
    except Exception as error:
        return {"error": type(error).__name__, "message": str(error)[:300]}
    finally:
        db.dispose()


def lock_wallet_then_token(url: str, wallet_id: int, token_id: int) -> dict[str, Any]:
    """The control: the *old* order of ``process_queue_in`` (wallet, then token), in raw SQL."""
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT id FROM ai_wallets WHERE id = :w FOR UPDATE"), {"w": wallet_id})
            conn.execute(text("SELECT id FROM strategy_tokens WHERE id = :t FOR UPDATE"), {"t": token_id})
            conn.commit()
        return {"ok": True}
    except Exception as error:
        return {"error": type(error).__name__, "message": str(error)[:300]}
    finally:
        db.dispose()
