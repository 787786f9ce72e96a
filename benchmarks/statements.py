"""Statements and CPU per ledger operation (a script, never a test): where a trade's time goes.

Counts the SQL statements (``BEGIN`` and ``COMMIT`` included: each is a round trip on PostgreSQL)
that one warm ``ledger.buy``, ``ledger.redeem``, a resting exchange ask and the bid that fills it
send, lists them, and measures CPU time per buy+redeem op (``time.process_time``: the process's own
CPU, user + system, so a busy machine slows it far less than the wall clock).

Usage (repository root, venv active)::

    python benchmarks/statements.py [--pg-url URL] [--ops 600] [--profile]
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, select

from benchmarks.exchange import _pairs
from benchmarks.ledger import Scratch, _world
from core import exchange, ledger
from core.db import Database
from core.migrations import upgrade
from core.models import StrategyToken


class Counter:
    """Statements the engine sends while ``on`` (first four words of each)."""

    def __init__(self, db: Database) -> None:
        self.on = False
        self.seen: collections.Counter[str] = collections.Counter()
        event.listen(db.engine, "before_cursor_execute", self._statement)
        event.listen(db.engine, "commit", self._commit)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.on:
            self.seen[" ".join(statement.split()[:4])[:70]] += 1

    def _commit(self, _conn: Any) -> None:
        if self.on:
            self.seen["COMMIT"] += 1

    def measure(self, work: Any) -> tuple[Any, collections.Counter[str]]:
        self.seen = collections.Counter()
        self.on = True
        try:
            result = work()
        finally:
            self.on = False
        return result, self.seen


def _report(name: str, seen: collections.Counter[str]) -> dict[str, Any]:
    print(f"{name}: {sum(seen.values())} statements")
    for text, n in seen.items():
        print(f"  {n} x {text}")
    return {"statements": sum(seen.values()), "detail": dict(seen)}


def count(url: str, ops: int, profile: bool) -> dict[str, Any]:
    db = Database(url)
    upgrade(db.engine)
    ((wallet, symbol),) = _world(db, 1)
    ((seller, buyer, xsym),) = _pairs(db, 1)
    counter = Counter(db)
    for i in range(5):  # warm: accounts exist, caches are filled
        b = ledger.buy(db.uow(), wallet, symbol, "10", idempotency_key=f"warm-b{i}")
        ledger.redeem(db.uow(), wallet, symbol, b.tokens, idempotency_key=f"warm-r{i}")
    with db.uow(read_only=True) as uow:
        nav = uow.session.scalar(select(StrategyToken.nav_per_token).where(StrategyToken.symbol == xsym))
    price = format(nav.quantize(exchange.parse_price("0.000001")), "f")  # type: ignore[union-attr]
    for i in range(3):
        exchange.place_order(db.uow(), seller, "ask", xsym, "10", price, idempotency_key=f"warm-a{i}")
        exchange.place_order(db.uow(), buyer, "bid", xsym, "10", price, idempotency_key=f"warm-x{i}")
    out: dict[str, Any] = {"dialect": db.engine.dialect.name}
    bought, seen = counter.measure(lambda: ledger.buy(db.uow(), wallet, symbol, "10", idempotency_key="c-b"))
    out["buy"] = _report("buy", seen)
    _, seen = counter.measure(lambda: ledger.redeem(db.uow(), wallet, symbol, bought.tokens,
                                                    idempotency_key="c-r"))
    out["redeem"] = _report("redeem", seen)
    _, seen = counter.measure(lambda: exchange.place_order(db.uow(), seller, "ask", xsym, "10", price,
                                                           idempotency_key="c-a"))
    out["ask_rests"] = _report("exchange ask that rests", seen)
    _, seen = counter.measure(lambda: exchange.place_order(db.uow(), buyer, "bid", xsym, "10", price,
                                                           idempotency_key="c-x"))
    out["bid_matches"] = _report("exchange bid that fills it", seen)

    def loop(tag: str) -> None:
        for i in range(ops // 2):
            b = ledger.buy(db.uow(), wallet, symbol, "10", idempotency_key=f"{tag}b{i}")
            ledger.redeem(db.uow(), wallet, symbol, b.tokens, idempotency_key=f"{tag}r{i}")

    cpu, wall = time.process_time(), time.perf_counter()
    loop("t")
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    out["cpu_ms_per_op"] = round(cpu * 1000 / ops, 3)
    out["wall_ms_per_op"] = round(wall * 1000 / ops, 3)
    print(f"{ops} buy+redeem ops: CPU {out['cpu_ms_per_op']} ms/op "
          f"({1000 / out['cpu_ms_per_op']:,.0f} ops per CPU-second), wall {out['wall_ms_per_op']} ms/op; "
          f"load {os.getloadavg()[0]:.2f}")
    if profile:
        prof = cProfile.Profile()
        prof.enable()
        loop("p")
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
    db.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--ops", type=int, default=600)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="arena-stmts-"))
    try:
        if not args.skip_sqlite:
            print("== SQLite")
            count(f"sqlite:///{folder / 'bench.db'}", args.ops, args.profile)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.pg_url:
        print("== PostgreSQL")
        with Scratch(args.pg_url, "arena_stmts") as scratch:
            count(scratch.url, args.ops, args.profile)


if __name__ == "__main__":
    main()
