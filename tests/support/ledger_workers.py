"""Child-process bodies for the concurrency and crash tests (importable by ``spawn`` children).

Each worker opens its own :class:`core.db.Database` (own engine, own connections) on the same
database URL, so the only thing shared between processes is the database itself. Results travel
back as plain dicts with decimals as strings. Test-only hooks (a pause inside the transaction) are
installed here, in the child, through public extension points — never in production code.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import event

from core import ledger
from core.clock import SimulatedClock, SystemClock
from core.db import Database
from core.errors import ArenaError

SPAWN = mp.get_context("spawn")


def _open(url: str, clock_iso: str | None) -> Database:
    from datetime import datetime

    from core.ledger.guards import configure_without_checks

    configure_without_checks()  # the bare ledger, as in the parent's pure_ledger tests
    clock = SimulatedClock(datetime.fromisoformat(clock_iso)) if clock_iso else SystemClock()
    return Database(url, clock=clock)


def _slow_checks(seconds: float) -> None:
    """Hold the trade's transaction open a little after its locks and pre-trade reads (widens races)."""
    if seconds > 0:
        ledger.register_check("test-slow", lambda _session, _intent: time.sleep(seconds))


def trade_loop(
    url: str,
    wallet_id: int,
    symbol: str,
    rounds: int,
    buy_cash: str,
    redeem_qty: str,
    tag: str,
    clock_iso: str | None = None,
) -> dict[str, Any]:
    """Buy ``buy_cash`` then redeem ``redeem_qty`` ``rounds`` times; report every outcome."""
    db = _open(url, clock_iso)
    trades: list[dict[str, Any]] = []
    errors: list[str] = []
    try:
        for i in range(rounds):
            for side, amount in (("buy", buy_cash), ("redeem", redeem_qty)):
                call = ledger.buy if side == "buy" else ledger.redeem
                try:
                    trades.append(
                        call(
                            db.uow(), wallet_id, symbol, amount, idempotency_key=f"{tag}-{side}-{i}"
                        ).to_dict()
                    )
                except ArenaError as error:
                    errors.append(f"{type(error).__name__}: {error}")
    finally:
        db.dispose()
    return {"trades": trades, "errors": errors}


def redeem_once(
    url: str, wallet_id: int, symbol: str, qty: str, key: str, hold_seconds: float
) -> dict[str, Any]:
    db = _open(url, None)
    _slow_checks(hold_seconds)
    try:
        trade = ledger.redeem(db.uow(), wallet_id, symbol, qty, idempotency_key=key)
        return {"ok": trade.to_dict()}
    except ArenaError as error:
        return {"error": type(error).__name__, "message": str(error)}
    finally:
        db.dispose()


def buy_once(
    url: str, wallet_id: int, symbol: str, cash: str, key: str, hold_seconds: float
) -> dict[str, Any]:
    db = _open(url, None)
    _slow_checks(hold_seconds)
    try:
        trade = ledger.buy(db.uow(), wallet_id, symbol, cash, idempotency_key=key)
        return {"ok": trade.to_dict()}
    except ArenaError as error:
        return {"error": type(error).__name__, "message": str(error)}
    finally:
        db.dispose()


# --- running workers in parallel -----------------------------------------------------------------


def _entry(
    barrier: Any, queue: Any, index: int, target: Callable[..., dict[str, Any]], args: tuple[Any, ...]
) -> None:
    barrier.wait(timeout=120)  # every child has imported everything: start together
    try:
        queue.put((index, target(*args)))
    except BaseException as error:  # report, do not hang the parent
        queue.put((index, {"crash": f"{type(error).__name__}: {error}"}))
        raise


def run_parallel(
    target: Callable[..., dict[str, Any]], arg_lists: Sequence[tuple[Any, ...]], timeout: float = 240
) -> list[dict[str, Any]]:
    """Run ``target(*args)`` in one spawned process per entry, all released at once; results in order."""
    barrier = SPAWN.Barrier(len(arg_lists))
    queue = SPAWN.Queue()
    procs = [
        SPAWN.Process(target=_entry, args=(barrier, queue, i, target, args), daemon=True)
        for i, args in enumerate(arg_lists)
    ]
    for proc in procs:
        proc.start()
    results: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    try:
        while len(results) < len(procs):
            index, result = queue.get(timeout=max(1.0, deadline - time.monotonic()))
            results[index] = result
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
    crashed = [r["crash"] for r in results.values() if "crash" in r]
    assert not crashed, crashed
    return [results[i] for i in range(len(procs))]


def decimal_sum(values: Sequence[Any]) -> Decimal:
    return sum((Decimal(str(v)) for v in values), Decimal(0))


# --- crash child ---------------------------------------------------------------------------------


def buy_then_freeze(
    url: str, wallet_id: int, symbol: str, cash: str, key: str, marker: str, when: str
) -> None:
    """Buy, and freeze (until SIGKILLed) either just before COMMIT reaches the database
    (``when="before_commit"``: every posting and balance update already flushed inside the open
    transaction) or just after it (``when="after_commit"``)."""
    db = _open(url, None)
    path = Path(marker)

    def freeze(*_args: Any) -> None:
        path.write_text(str(os.getpid()))
        while True:  # the parent kills us with SIGKILL
            time.sleep(1)

    if when == "before_commit":
        # Engine-level "commit" fires after the session's final flush, right before the DBAPI commit.
        event.listen(db.engine, "commit", freeze)
    else:
        from sqlalchemy.orm import Session

        event.listen(Session, "after_commit", freeze)
    ledger.buy(db.uow(), wallet_id, symbol, cash, idempotency_key=key)


def buy_forever(url: str, wallet_id: int, symbol: str, cash: str, marker: str) -> None:
    """Buy small amounts in a loop until killed (the parent kills at a random moment)."""
    db = _open(url, None)
    i = 0
    while True:
        ledger.buy(db.uow(), wallet_id, symbol, cash, idempotency_key=f"loop-{i}")
        i += 1
        if i == 5:
            Path(marker).write_text("running")
