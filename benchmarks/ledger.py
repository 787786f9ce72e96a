"""Ledger throughput: buy + redeem operations per second, with pgbench as the yardstick (a script,
never a test).

One *operation* is one ledger service call — a ``ledger.buy`` or a ``ledger.redeem`` — each its own
idempotent, fee-settling, invariant-keeping database transaction (idempotency lookup, row locks,
balanced postings, balance updates, key insert, commit). Workers alternate buy 10 USD / redeem the
units just bought, on the real wall clock (so management fees settle every second, as in production).

* SQLite file, 1 process.
* PostgreSQL, 1 / 2 / 4 worker processes: (a) distinct wallets and tokens per worker (no shared
  hot row), (b) every worker on the same token and wallet (they serialise on its row lock).
* pgbench TPC-B-like (``pgbench -i -s 4`` into a scratch database; ``-c N -j N -T duration``) on the
  same server with the same client counts and duration, side by side.

Goals (issue 2): >= 1,000 ops/s on SQLite; PostgreSQL at 4 workers (distinct) >= 25 % of pgbench TPS.

Usage (repository root, venv active; the PostgreSQL part needs a URL whose user may CREATE DATABASE)::

    python benchmarks/ledger.py [--duration 10] [--pg-url postgresql://postgres@127.0.0.1:5432/test]
                                [--workers 1,2,4] [--skip-pg] [--json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core import ledger
from core.db import Database, normalise_url
from core.ledger import guards
from core.migrations import upgrade
from core.models import Organisation, OrgKind, OrgStatus
from core.risk import install

# The benchmark is its own composition root: trades run with the platform's pre-trade checks
# (circuit breaker, redemption limit), as in production. Children (spawn) run this on import too.
install()

SPAWN = mp.get_context("spawn")
guards.configure_without_checks()  # the ledger alone, without platform-risk checks (workers too)
BUY_CASH = "10"


# --- set-up --------------------------------------------------------------------------------------


def _world(db: Database, n: int) -> list[tuple[int, str]]:
    """``n`` (wallet, token) pairs, each wallet funded, each token active with room to grow."""
    with db.uow() as uow:
        org = Organisation(
            name="Bench Church",
            kind=OrgKind.CHURCH,
            status=OrgStatus.VERIFIED,
            created_at=uow.clock.now(),
            verified_at=uow.clock.now(),
        )
        uow.session.add(org)
        uow.session.flush()
        org_id = org.id
        uow.commit()
    pairs = []
    for i in range(n):
        w = ledger.create_wallet(
            db.uow(), organisation_id=org_id, name=f"W{i}", idempotency_key=f"setup-w{i}"
        )
        ledger.deposit(db.uow(), w.wallet_id, "1000000000", idempotency_key=f"setup-d{i}")
        t = ledger.tokenize(
            db.uow(),
            agent_id=None,
            symbol=f"STRAT-BENCH-{i}",
            total_supply="1000000000000",
            status="active",
            idempotency_key=f"setup-t{i}",
        )
        # A large holder, so the day's redemption limit (10 % of AUM) never binds the 10 USD redeems.
        whale = ledger.create_wallet(db.uow(), organisation_id=org_id, name=f"Whale{i}",
                                     idempotency_key=f"setup-whale{i}")
        ledger.deposit(db.uow(), whale.wallet_id, "100000000", idempotency_key=f"setup-dw{i}")
        ledger.buy(db.uow(), whale.wallet_id, t.symbol, "100000000", idempotency_key=f"setup-bw{i}")
        pairs.append((w.wallet_id, t.symbol))
    return pairs


# --- the worker ----------------------------------------------------------------------------------


def _trade_for(url: str, wallet: int, symbol: str, duration: float, tag: str, barrier: Any, out: Any) -> None:
    db = Database(url)
    # Warm up (connection, statement caches, account rows) before the clock starts.
    for i in range(3):
        bought = ledger.buy(db.uow(), wallet, symbol, BUY_CASH, idempotency_key=f"{tag}-wb{i}")
        ledger.redeem(db.uow(), wallet, symbol, bought.tokens, idempotency_key=f"{tag}-wr{i}")
    barrier.wait()
    ops, i = 0, 0
    latencies: list[float] = []
    cpu_start = time.process_time()  # this process's own CPU (user + system): less load-sensitive
    start = time.perf_counter()
    end = start + duration
    while True:
        t0 = time.perf_counter()
        if t0 >= end:
            break
        bought = ledger.buy(db.uow(), wallet, symbol, BUY_CASH, idempotency_key=f"{tag}-b{i}")
        ledger.redeem(db.uow(), wallet, symbol, bought.tokens, idempotency_key=f"{tag}-r{i}")
        latencies.append((time.perf_counter() - t0) / 2)
        ops += 2
        i += 1
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    db.dispose()
    latencies.sort()
    p50 = latencies[len(latencies) // 2] if latencies else 0.0
    out.put({"ops": ops, "elapsed": elapsed, "p50_ms": p50 * 1000, "cpu_s": cpu})


def run_workers(url: str, pairs: list[tuple[int, str]], duration: float, tag: str) -> dict[str, Any]:
    barrier = SPAWN.Barrier(len(pairs))
    out = SPAWN.Queue()
    procs = [
        SPAWN.Process(target=_trade_for, args=(url, w, s, duration, f"{tag}-{i}", barrier, out))
        for i, (w, s) in enumerate(pairs)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=duration + 300) for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"worker failed with exit code {p.exitcode}")
    ops = sum(r["ops"] for r in results)
    elapsed = max(r["elapsed"] for r in results)
    return {
        "workers": len(pairs),
        "ops": ops,
        "seconds": round(elapsed, 2),
        "ops_per_s": round(ops / elapsed, 1),
        "p50_ms": round(sorted(r["p50_ms"] for r in results)[len(results) // 2], 2),
        # client CPU per op (ms), summed over workers: what the Python side costs, load aside
        "cpu_ms_per_op": round(sum(r["cpu_s"] for r in results) * 1000 / max(ops, 1), 3),
    }


def check_clean(db: Database) -> None:
    with db.uow(read_only=True) as uow:
        violations = ledger.check_invariants(uow.session)
    if violations:
        raise SystemExit(f"ledger invariants violated after the benchmark: {violations[:5]}")


# --- SQLite --------------------------------------------------------------------------------------


def bench_sqlite(duration: float) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="arena-bench-"))
    try:
        url = f"sqlite:///{folder / 'bench.db'}"
        db = Database(url)
        upgrade(db.engine)
        pairs = _world(db, 1)
        result = run_workers(url, pairs, duration, "sqlite")
        check_clean(db)
        db.dispose()
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- PostgreSQL ----------------------------------------------------------------------------------


class Scratch:
    """A scratch database on the server of ``base_url``, dropped on exit."""

    def __init__(self, base_url: str, prefix: str) -> None:
        self.name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        base = make_url(normalise_url(base_url))
        self.admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        self.url = base.set(database=self.name).render_as_string(hide_password=False)
        self.parts = base

    def __enter__(self) -> Scratch:
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return self

    def __exit__(self, *_exc: object) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def bench_pg(base_url: str, duration: float, counts: list[int]) -> list[dict[str, Any]]:
    rows = []
    for n in counts:
        for shared in (False, True):
            with Scratch(base_url, "arena_bench") as scratch:
                db = Database(scratch.url)
                upgrade(db.engine)
                pairs = _world(db, 1 if shared else n)
                pairs = pairs * n if shared else pairs
                result = run_workers(scratch.url, pairs, duration, f"pg{n}{'s' if shared else 'd'}")
                check_clean(db)
                db.dispose()
            result["case"] = "same token+wallet" if shared else "distinct tokens"
            rows.append(result)
    return rows


def _pgbench_binary() -> str:
    found = shutil.which("pgbench")
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True):
        return str(candidate)
    raise SystemExit("pgbench not found: apt-get install -y postgresql-contrib (or postgresql-client)")


def bench_pgbench(base_url: str, duration: float, counts: list[int], scale: int) -> list[dict[str, Any]]:
    binary = _pgbench_binary()
    rows = []
    with Scratch(base_url, "arena_pgbench") as scratch:
        p = scratch.parts
        conn_args = ["-h", p.host or "127.0.0.1", "-p", str(p.port or 5432), "-U", p.username or "postgres"]
        env = dict(os.environ)
        if p.password:
            env["PGPASSWORD"] = p.password
        subprocess.run(
            [binary, *conn_args, "-i", "-q", "-s", str(scale), scratch.name],
            check=True,
            env=env,
            capture_output=True,
        )
        for n in counts:
            proc = subprocess.run(
                [
                    binary,
                    *conn_args,
                    "-n",
                    "-c",
                    str(n),
                    "-j",
                    str(n),
                    "-T",
                    str(int(duration)),
                    scratch.name,
                ],
                check=True,
                env=env,
                capture_output=True,
                text=True,
            )
            match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", proc.stdout)
            latency = re.search(r"latency average = ([0-9.]+) ms", proc.stdout)
            if not match:
                raise SystemExit(f"could not read pgbench output:\n{proc.stdout}\n{proc.stderr}")
            rows.append(
                {
                    "clients": n,
                    "tps": round(float(match.group(1)), 1),
                    "latency_ms": float(latency.group(1)) if latency else None,
                }
            )
    return rows


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument(
        "--pg-url", default=os.environ.get("ARENA_BENCH_PG_URL") or os.environ.get("ARENA_TEST_PG_URL")
    )
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--pgbench-scale", type=int, default=4)
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    args = parser.parse_args()
    counts = [int(c) for c in args.workers.split(",")]

    report: dict[str, Any] = {
        "duration_s": args.duration,
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg()[0],
    }
    report["sqlite"] = bench_sqlite(args.duration)
    if args.pg_url and not args.skip_pg:
        report["postgres"] = bench_pg(args.pg_url, args.duration, counts)
        report["pgbench"] = bench_pgbench(args.pg_url, args.duration, counts, args.pgbench_scale)
        tps = {r["clients"]: r["tps"] for r in report["pgbench"]}
        for row in report["postgres"]:
            row["vs_pgbench"] = round(row["ops_per_s"] / tps[row["workers"]], 3)
        at4 = [
            r for r in report["postgres"] if r["workers"] == max(counts) and r["case"] == "distinct tokens"
        ]
        report["goal_pg"] = {"target": 0.25, "ratio": at4[0]["vs_pgbench"] if at4 else None}
    report["goal_sqlite"] = {"target": 1000, "ops_per_s": report["sqlite"]["ops_per_s"]}
    report["load_after"] = os.getloadavg()[0]

    if args.json:
        print(json.dumps(report, indent=2))
        return
    s = report["sqlite"]
    print(f"SQLite file, 1 process: {s['ops_per_s']:,.0f} ops/s (p50 {s['p50_ms']} ms/op; goal >= 1,000); "
          f"CPU {s['cpu_ms_per_op']} ms/op = {1000 / s['cpu_ms_per_op']:,.0f} ops per CPU-second")
    if "postgres" in report:
        print("\nPostgreSQL (ops = ledger buys + redeems; pgbench = TPC-B-like transactions)")
        print(
            f"{'workers':>7} | {'case':<18} | {'ops/s':>8} | {'p50 ms':>7} | {'CPU ms/op':>9} | "
            f"{'pgbench tps':>11} | {'ratio':>6}"
        )
        tps = {r["clients"]: r["tps"] for r in report["pgbench"]}
        for r in report["postgres"]:
            print(
                f"{r['workers']:>7} | {r['case']:<18} | {r['ops_per_s']:>8,.0f} | {r['p50_ms']:>7} | "
                f"{r['cpu_ms_per_op']:>9} | {tps[r['workers']]:>11,.0f} | {r['vs_pgbench']:>6.1%}"
            )
        print(
            f"\ngoal: distinct tokens at {max(counts)} workers >= 25 % of pgbench: "
            f"{report['goal_pg']['ratio']:.1%}"
        )
    print(
        f"load average before/after: {report['load_before']:.2f} / {report['load_after']:.2f} "
        f"on {report['cpus']} CPUs"
    )


if __name__ == "__main__":
    main()
