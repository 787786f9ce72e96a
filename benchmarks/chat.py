"""Chat benchmark (issue 6).

(a) 1,000 Telegram updates — /wallet, /tokens, /buy and the Confirm press, in rotation over 50
    verified users, after a 200-update warm-up — through a real python-telegram-bot Application
    (the project's adapter: gate in group -1, handlers from the permission table) on a migrated
    SQLite file. The network is the offline request class; the AIORateLimiter is left out because
    its job is to *slow* sends down to Telegram's limits (30 msg/s), which would measure Telegram's
    quota, not our code. Measured sequentially (1 update in flight) and with PTB's concurrent
    updates (4 in flight). Goal: >= 200 updates/s and p99 latency < 50 ms.
(b) 10,000 digests rendered (text + PNG chart) from digest data loaded from the database for 50
    wallets with 30 days of NAV marks. Goal: <= 30 s. Also reports load + render per wallet.

    python benchmarks/chat.py [--updates 1000] [--digests 10000] [--in-flight 1 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telegram import Update

from bot.telegram_bot.adapter import TelegramAdapter
from bot.telegram_bot.offline import OfflineRequest, UpdateFactory
from core import ledger
from core.clock import SimulatedClock
from core.commands.dispatcher import CommandLayer
from core.config import Settings
from core.db import Database
from core.digest.content import load_digest, render_digest
from core.migrations import upgrade
from core.models import AIWallet

USERS = 50
SYMBOL = "STRAT-BENCH-USDC-001"
TOKEN = "123456:OFFLINE-benchmark-token-aaaaaaaaaaaaaaaaaa"


def setup(path: Path) -> tuple[Database, CommandLayer]:
    clock = SimulatedClock(datetime(2025, 1, 1, tzinfo=UTC))
    db = Database(f"sqlite:///{path}", clock=clock)
    upgrade(db.engine)
    settings = Settings(platform_admins="telegram:1")
    layer = CommandLayer(db, settings)
    ledger.tokenize(
        db.uow(),
        agent_id=None,
        symbol=SYMBOL,
        total_supply="100000000",
        status="active",
        idempotency_key="bench-token",
    )
    ledger.tokenize(
        db.uow(),
        agent_id=None,
        symbol="STRAT-BENCH-BTC-001",
        total_supply="100000000",
        status="active",
        idempotency_key="bench-token-2",
    )
    return db, layer


def onboard(layer: CommandLayer) -> None:
    """50 users onboarded, verified and funded through the command layer itself."""
    from core.commands.types import Identity

    def say(user: int, line: str, key: str, button: bool = False) -> str:
        reply = layer.handle_line(Identity("telegram", user, user), line, key, via_button=button)
        return reply.buttons[0][0].action if reply.buttons else reply.text

    for user in range(100, 100 + USERS):
        action = say(user, "/start", f"s{user}")
        for n in range(4):
            action = say(user, "/" + action, f"a{user}{n}", True)
        say(user, "/org register church Church " + str(user), f"o{user}")
        org = user - 99
        say(1, f"/verify {org}", f"v{user}")
        say(user, "/" + say(user, "/deposit 100000", f"d{user}"), f"dc{user}", True)


async def telegram_updates(layer: CommandLayer, count: int, in_flight: int) -> dict[str, float]:
    """Feed ``count`` updates; ``in_flight`` > 1 processes that many at once, as PTB does with
    ``concurrent_updates`` (each user's /buy is confirmed after its reply arrived)."""
    request = OfflineRequest()
    app = TelegramAdapter(layer).build(
        TOKEN, request=request, rate_limiter=False, concurrent_updates=in_flight
    )
    await app.initialize()
    factory = UpdateFactory()
    latencies: list[float] = []
    gate = asyncio.Semaphore(in_flight)

    async def one(payload: dict[str, object]) -> None:
        async with gate:
            t0 = time.perf_counter()
            await app.process_update(Update.de_json(payload, app.bot))
            latencies.append(time.perf_counter() - t0)

    def confirm_for(user: int) -> dict[str, object]:
        for params in reversed(request.sent()):
            if int(params["chat_id"]) == user and params.get("reply_markup"):
                data = params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
                return factory.press(user, str(data))
        raise AssertionError(f"no confirmation for {user}")

    started = time.perf_counter()
    done = 0
    while done < count:
        users = [100 + u for u in range(USERS)]
        first = [
            factory.message(u, text) for u in users for text in ("/wallet", "/tokens", f"/buy {SYMBOL} 10")
        ]
        first = first[: count - done]
        await asyncio.gather(*(one(p) for p in first))
        done += len(first)
        presses = [confirm_for(u) for u in users][: count - done]
        await asyncio.gather(*(one(p) for p in presses))
        done += len(presses)
    total = time.perf_counter() - started
    await app.shutdown()
    bought = sum(1 for t in request.texts() if t.startswith("Bought"))
    assert layer.internal_errors == 0
    latencies.sort()
    return {
        "updates": count,
        "seconds": total,
        "per_second": count / total,
        "in_flight": in_flight,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
        "max_ms": latencies[-1] * 1000,
        "buys": bought,
    }


def digests(db: Database, count: int) -> dict[str, float]:
    clock = db.clock
    assert isinstance(clock, SimulatedClock)
    for day in range(30):
        clock.advance(timedelta(days=1))
        ledger.mark_nav(db.uow(), SYMBOL, clock.now().date(), "0.0003" if day % 3 else "-0.0002")
        ledger.mark_nav(db.uow(), "STRAT-BENCH-BTC-001", clock.now().date(), "0.004" if day % 2 else "-0.003")
    with db.uow(read_only=True) as uow:
        wallets = uow.session.query(AIWallet).filter(AIWallet.is_house.is_(False)).all()
        t0 = time.perf_counter()
        data = [load_digest(uow.session, w, clock.now()) for w in wallets]
        load_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    size = 0
    for i in range(count):
        base = data[i % len(data)]
        wobble = 1 + (i % 97) / 10_000  # every chart differs a little
        item = replace(base, wallet_index=[v * wobble for v in base.wallet_index])
        reply = render_digest(item)
        size += len(reply.attachments[0].data) + len(reply.text)
    render_seconds = time.perf_counter() - t0
    return {
        "digests": count,
        "seconds": render_seconds,
        "per_second": count / render_seconds,
        "load_ms_per_wallet": load_seconds / len(wallets) * 1000,
        "avg_bytes": size / count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--digests", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=200, help="updates run first and not measured")
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 4], help="concurrent updates (PTB)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db, layer = setup(Path(tmp) / "bench.db")
        onboard(layer)
        cold = asyncio.run(telegram_updates(layer, args.warmup, 1))
        print(
            f"(a) warm-up (cold caches, each user's first buy opens its ledger accounts): {cold['updates']} "
            f"updates = {cold['per_second']:.0f} updates/s, p99 {cold['p99_ms']:.1f} ms (not the measurement)"
        )
        for in_flight in args.in_flight:
            tg = asyncio.run(telegram_updates(layer, args.updates, in_flight))
            print(
                f"(a) telegram, {in_flight} in flight: {tg['updates']} updates in {tg['seconds']:.2f} s = "
                f"{tg['per_second']:.0f} updates/s; p50 {tg['p50_ms']:.1f} ms, p99 {tg['p99_ms']:.1f} ms, "
                f"max {tg['max_ms']:.1f} ms; {tg['buys']:.0f} buys confirmed   [goal >= 200/s, p99 < 50 ms]"
            )
        dg = digests(db, args.digests)
        print(
            f"(b) digests: {dg['digests']} rendered in {dg['seconds']:.1f} s = {dg['per_second']:.0f}/s "
            f"(text + {dg['avg_bytes'] / 1024:.1f} KiB avg incl. PNG); "
            f"load {dg['load_ms_per_wallet']:.1f} ms per wallet from SQLite   [goal <= 30 s]"
        )
        print(f"load average (1 min): {os.getloadavg()[0]:.2f}")
        db.dispose()


if __name__ == "__main__":
    main()
