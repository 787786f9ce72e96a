"""Where an API request's time goes (issue 12 performance): SQL statements per request and a
cProfile of the in-process path (Starlette's TestClient over the real app and a real SQLite file).

``python benchmarks/api_profile.py [--n 200] [--profile list|buy|none]``: prints, for
``GET /api/tokens/list``, an authenticated ``GET /api/wallet/{id}/status`` and
``POST /api/tokens/{symbol}/buy``, the number of SQL statements and transactions (BEGINs) each
request runs, the mean time per request in process, and the same for a direct ``ledger.buy``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import ledger
from core.db import Database
from core.migrations import upgrade
from tests.e2e.chat_support import make_token
from tests.web.support import OA, SYMBOL, build_world


class Statements:
    """Counts the SQL statements (by first word) and transactions the engine runs."""

    def __init__(self, db: Database) -> None:
        self.counts: Counter[str] = Counter()
        event.listen(db.engine, "before_cursor_execute", self._statement)
        event.listen(db.engine, "begin", lambda conn: self.counts.update(["BEGIN"]))

    def _statement(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.counts[statement.split(None, 1)[0].upper()] += 1

    def measure(self, call: Callable[[int], object], n: int) -> tuple[dict[str, float], float]:
        self.counts.clear()
        start = time.perf_counter()
        for i in range(n):
            call(i)
        took = (time.perf_counter() - start) / n
        return {k: v / n for k, v in sorted(self.counts.items())}, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--profile", choices=["list", "buy", "none"], default="none")
    args = parser.parse_args()
    from bot.wiring import install_safety

    install_safety()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/profile.db")
        upgrade(db.engine)
        world = build_world(db)
        for i in range(9):
            make_token(db, f"STRAT-BENCH-T{i}-001")
        client = world.client(world.app(api_rate_limit="100000000/minute"))
        auth = {"Authorization": f"Bearer {world.keys[OA]}"}
        client.get("/api/tokens/list")
        client.get(f"/api/wallet/{world.wallet_id}/status", headers=auth)
        stats = Statements(db)

        def get_list(i: int) -> None:
            assert client.get("/api/tokens/list").status_code == 200

        def status(i: int) -> None:
            assert client.get(f"/api/wallet/{world.wallet_id}/status", headers=auth).status_code == 200

        def buy(i: int) -> None:
            r = client.post(f"/api/tokens/{SYMBOL}/buy", json={"amount": "1"},
                            headers=auth | {"Idempotency-Key": f"profile-{i}"})
            assert r.status_code == 200, r.text

        def direct(i: int) -> None:
            ledger.buy(db.uow(), world.other_wallet_id, SYMBOL, "1", idempotency_key=f"direct-{i}")

        cases = {"GET /api/tokens/list": get_list, "GET /api/wallet/{id}/status (key)": status,
                 "POST buy (key)": buy, "ledger.buy directly": direct}
        if args.profile != "none":
            target = get_list if args.profile == "list" else buy
            profiler = cProfile.Profile()
            profiler.enable()
            for i in range(args.n):
                target(10_000 + i)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
            return
        for name, call in cases.items():
            counts, took = stats.measure(call, args.n)
            per = ", ".join(f"{k} {v:g}" for k, v in counts.items())
            print(f"{name}: {took * 1000:.2f} ms in process; per request: {per}")


if __name__ == "__main__":
    main()
