"""Exchange throughput and proof-of-liabilities cost (a script, never a test).

(1) Orders through the core (``core.exchange.place_order``: idempotency key, token and wallet locks,
    matching, ledger postings, chain) beside the ledger's own buy + redeem in the same run. Each
    round: organisation A places an ask that rests (its units reserved), then organisation B places a
    bid that fills it (one fill transaction). Latencies are per call; the goal compares the *matching*
    order (the bid that fills) with a ledger buy: <= 1.5x.
    SQLite file, 1 process; PostgreSQL, 4 worker processes on distinct tokens and wallets.
(2) Proof of liabilities: publication for N organisation wallets (goal: 10,000 in <= 10 s) and
    verification of one proof (goal: <= 5 ms).

Usage (repository root, venv active; the PostgreSQL part needs a URL whose user may CREATE DATABASE)::

    python benchmarks/exchange.py [--duration 10] [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]
                                  [--wallets 10000] [--skip-pg] [--skip-proof] [--json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ledger import Scratch
from core import exchange, ledger
from core.db import Database
from core.ledger import guards
from core.migrations import upgrade
from core.models import Organisation, OrgKind, OrgStatus

SPAWN = mp.get_context("spawn")
guards.configure_without_checks()  # the ledger alone, without platform-risk checks (workers too)


def _org(db: Database, name: str) -> int:
    with db.uow() as uow:
        org = Organisation(
            name=name,
            kind=OrgKind.CHURCH,
            status=OrgStatus.VERIFIED,
            created_at=uow.clock.now(),
            verified_at=uow.clock.now(),
        )
        uow.session.add(org)
        uow.session.flush()
        org_id = org.id
        uow.commit()
    return org_id


def _pairs(db: Database, n: int) -> list[tuple[int, int, str]]:
    """``n`` (seller, buyer, token): seller holds 1,000,000 units, both wallets funded."""
    a, b = _org(db, "Seller Church"), _org(db, "Buyer Church")
    out = []
    for i in range(n):
        seller = ledger.create_wallet(
            db.uow(), organisation_id=a, name=f"S{i}", idempotency_key=f"s{i}"
        ).wallet_id
        buyer = ledger.create_wallet(
            db.uow(), organisation_id=b, name=f"B{i}", idempotency_key=f"b{i}"
        ).wallet_id
        for w in (seller, buyer):
            ledger.deposit(db.uow(), w, "1000000000", idempotency_key=f"d{w}")
        symbol = ledger.tokenize(
            db.uow(),
            agent_id=None,
            symbol=f"STRAT-XBENCH-{i}",
            total_supply="1000000000000",
            status="active",
            idempotency_key=f"t{i}",
        ).symbol
        ledger.buy(db.uow(), seller, symbol, "1000000", idempotency_key=f"seed{i}")
        out.append((seller, buyer, symbol))
    return out


def _p50_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3) if samples else 0.0


def _work(
    url: str, seller: int, buyer: int, symbol: str, duration: float, tag: str, barrier: Any, out: Any
) -> None:
    db = Database(url)
    with db.uow(read_only=True) as uow:  # trade at the token's NAV (inside the price band)
        from sqlalchemy import select

        from core.models import StrategyToken

        nav = uow.session.scalar(select(StrategyToken.nav_per_token).where(StrategyToken.symbol == symbol))
    price = format(nav.quantize(exchange.parse_price("0.000001")), "f")  # type: ignore[union-attr]
    rest, match, buys, redeems = [], [], [], []

    def one_round(i: int, timed: bool) -> None:
        t0 = time.perf_counter()
        exchange.place_order(db.uow(), seller, "ask", symbol, "10", price, idempotency_key=f"{tag}-a{i}")
        t1 = time.perf_counter()
        filled = exchange.place_order(
            db.uow(), buyer, "bid", symbol, "10", price, idempotency_key=f"{tag}-b{i}"
        )
        t2 = time.perf_counter()
        assert filled.fills, "the bid did not fill"
        bought = ledger.buy(db.uow(), buyer, symbol, "10", idempotency_key=f"{tag}-lb{i}")
        t3 = time.perf_counter()
        ledger.redeem(db.uow(), buyer, symbol, bought.tokens, idempotency_key=f"{tag}-lr{i}")
        t4 = time.perf_counter()
        if timed:
            rest.append(t1 - t0)
            match.append(t2 - t1)
            buys.append(t3 - t2)
            redeems.append(t4 - t3)

    for i in range(3):
        one_round(-1 - i, False)
    barrier.wait()
    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < duration:
        one_round(i, True)
        i += 1
    db.dispose()
    out.put(
        {
            "rounds": i,
            "order_s": sum(rest) + sum(match),
            "ledger_s": sum(buys) + sum(redeems),
            "rest_ms": _p50_ms(rest),
            "match_ms": _p50_ms(match),
            "buy_ms": _p50_ms(buys),
            "redeem_ms": _p50_ms(redeems),
            "elapsed": time.perf_counter() - start,
        }
    )


def run_workers(url: str, pairs: list[tuple[int, int, str]], duration: float, tag: str) -> dict[str, Any]:
    barrier, out = SPAWN.Barrier(len(pairs)), SPAWN.Queue()
    procs = [
        SPAWN.Process(target=_work, args=(url, s, b, sym, duration, f"{tag}{i}", barrier, out))
        for i, (s, b, sym) in enumerate(pairs)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=duration + 600) for _ in procs]
    for p in procs:
        p.join()
    rounds = sum(r["rounds"] for r in results)
    elapsed = max(r["elapsed"] for r in results)
    med = {
        k: round(statistics.median(r[k] for r in results), 3)
        for k in ("rest_ms", "match_ms", "buy_ms", "redeem_ms")
    }
    return {
        "workers": len(pairs),
        "rounds": rounds,
        # throughput while both kinds of work share the wall clock, attributed by measured time
        "orders_per_s": round(2 * rounds / sum(r["order_s"] for r in results) * len(pairs), 1),
        "ledger_ops_per_s": round(2 * rounds / sum(r["ledger_s"] for r in results) * len(pairs), 1),
        "mixed_ops_per_s": round(4 * rounds / elapsed, 1),
        **med,
        "match_vs_buy": round(med["match_ms"] / med["buy_ms"], 2) if med["buy_ms"] else None,
    }


def bench_sqlite(duration: float) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="arena-xbench-"))
    try:
        url = f"sqlite:///{folder / 'bench.db'}"
        db = Database(url)
        upgrade(db.engine)
        pairs = _pairs(db, 1)
        result = run_workers(url, pairs, duration, "sq")
        _check(db)
        db.dispose()
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bench_pg(base_url: str, duration: float, workers: int) -> dict[str, Any]:
    with Scratch(base_url, "arena_xbench") as scratch:
        db = Database(scratch.url)
        upgrade(db.engine)
        pairs = _pairs(db, workers)
        result = run_workers(scratch.url, pairs, duration, "pg")
        _check(db)
        db.dispose()
    return result


def _check(db: Database) -> None:
    with db.uow(read_only=True) as uow:
        violations = ledger.check_invariants(uow.session)
    if violations:
        raise SystemExit(f"ledger invariants violated after the benchmark: {violations[:5]}")


def bench_proof(wallets: int) -> dict[str, Any]:
    from core.audit import merkle
    from core.audit.liabilities import proof_for, publish

    folder = Path(tempfile.mkdtemp(prefix="arena-pbench-"))
    try:
        db = Database(f"sqlite:///{folder / 'proof.db'}")
        upgrade(db.engine)
        org = _org(db, "Many Wallets")
        symbol = ledger.tokenize(
            db.uow(),
            agent_id=None,
            symbol="STRAT-PROOF-1",
            total_supply="1000000000000",
            status="active",
            idempotency_key="tp",
        ).symbol
        t0 = time.perf_counter()
        for i in range(wallets):
            with db.uow() as uow:  # real services: open and fund a wallet, then (1 in 3) buy
                now = uow.clock.now()
                w = ledger.create_wallet_in(uow.session, now, organisation_id=org, name=f"W{i}")
                ledger.deposit_in(uow.session, now, w.id, ledger_amount(i))
                wallet_id = w.id
                uow.commit()
            if i % 3 == 0:
                ledger.buy(db.uow(), wallet_id, symbol, ledger_amount(i) / 2, idempotency_key=f"pb{i}")
        setup_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        root = publish(db)
        publish_s = time.perf_counter() - t1
        with db.uow(read_only=True) as uow:
            t2 = time.perf_counter()
            proof = proof_for(uow.session, wallets // 2)
            proof_s = time.perf_counter() - t2
        runs = []
        for _ in range(200):
            t3 = time.perf_counter()
            verdict = merkle.verify(proof, root.root)
            runs.append(time.perf_counter() - t3)
        assert verdict.ok
        db.dispose()
        return {
            "wallets": wallets,
            "setup_s": round(setup_s, 1),
            "publish_s": round(publish_s, 2),
            "proof_build_ms": round(proof_s * 1000, 1),
            "verify_ms": _p50_ms(runs),
            "path_length": len(proof["path"]),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def ledger_amount(i: int) -> Any:
    from decimal import Decimal

    return Decimal(100 + i % 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument(
        "--pg-url", default=os.environ.get("ARENA_BENCH_PG_URL") or os.environ.get("ARENA_TEST_PG_URL")
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--wallets", type=int, default=10_000)
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-proof", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report: dict[str, Any] = {"cpus": os.cpu_count(), "load_before": round(os.getloadavg()[0], 2)}
    report["sqlite"] = bench_sqlite(args.duration)
    if args.pg_url and not args.skip_pg:
        report["postgres"] = bench_pg(args.pg_url, args.duration, args.workers)
    if not args.skip_proof:
        report["proof"] = bench_proof(args.wallets)
    report["load_after"] = round(os.getloadavg()[0], 2)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for name in ("sqlite", "postgres"):
        if name in report:
            r = report[name]
            print(
                f"{name} ({r['workers']} worker(s)): {r['orders_per_s']:,.0f} orders/s, ledger "
                f"{r['ledger_ops_per_s']:,.0f} buy+redeem ops/s; p50 rest {r['rest_ms']} ms, match "
                f"{r['match_ms']} ms, buy {r['buy_ms']} ms, redeem {r['redeem_ms']} ms; "
                f"match/buy {r['match_vs_buy']} (goal <= 1.5)"
            )
    if "proof" in report:
        p = report["proof"]
        print(
            f"proof: publish {p['wallets']:,} wallets {p['publish_s']} s (goal <= 10 s); verify one "
            f"{p['verify_ms']} ms (goal <= 5 ms); build one proof {p['proof_build_ms']} ms"
        )
    print(
        f"load average before/after: {report['load_before']} / {report['load_after']} "
        f"on {report['cpus']} CPUs"
    )


if __name__ == "__main__":
    main()
