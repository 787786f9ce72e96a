"""End to end in the console: the `arena chat --script` entry point in a subprocess, and the full
journey (onboard, verified, buy, hybrid, approve a proposal, digest) on a simulated clock."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.console_chat import ConsoleChat, console_user_id
from core.db import Database
from scheduler.service import ArenaScheduler
from tests.e2e.chat_support import ChatWorld, make_settings, make_token

ARENA = str(Path(sys.executable).with_name("arena"))

SCRIPT = """\
# a new church onboards, is verified by the admin, deposits and buys
/start
press 1
press 2
press 3
press 4
press 5
Grace Chapel
/buy STRAT-YIELD-USDC-001 100
@admin /verify 1
/deposit 1000
/deposit 2000
press 8
press 10
/buy STRAT-YIELD-USDC-001 250
press 12
press 12
/wallet
/frobnicate
/mode hybrid
/digest
"""


def test_arena_chat_script_subprocess(sqlite_db: Database, tmp_path: Path) -> None:
    make_token(sqlite_db)
    script = tmp_path / "journey.txt"
    script.write_text(SCRIPT)
    env = {**os.environ, "ARENA_DB_URL": sqlite_db.url, "ARENA_PLATFORM_ADMINS": ""}
    result = subprocess.run(
        [
            ARENA,
            "chat",
            "--user",
            "grace",
            "--admin",
            "admin",
            "--script",
            str(script),
            "--files",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Step 1 of 6" in out and "pending verification" in out
    assert "must be verified before" in out  # buying before verification is refused
    assert "[message for grace]\nGood news: Grace Chapel is verified" in out  # told in their chat
    assert "Organisation #1 Grace Chapel verified" in out
    # Two pending confirmations each keep their own button (numbers never repeat in a session).
    assert "Deposited $1,000.00" in out and "Cash now: $3,000.00" in out
    assert "Bought " in out and "STRAT-YIELD-USDC-001" in out
    assert out.count("Bought ") == 1 and "Already done" in out  # a used button says so
    assert "Unknown command /frobnicate" in out
    assert "Mode is now hybrid" in out
    assert "Daily digest" in out and (tmp_path / next(p.name for p in tmp_path.glob("digest-*.png"))).exists()
    assert "Traceback" not in out + result.stderr


def test_full_journey_with_a_hybrid_proposal(sqlite_db: Database, tmp_path: Path) -> None:
    from tests.wallet_fixtures import mark_days, random_returns

    symbols = [f"STRAT-TEST-T{i}-001" for i in range(5)]
    for symbol in symbols:
        make_token(sqlite_db, symbol, supply="100000000")
    mark_days(sqlite_db, sqlite_db.clock, {s: random_returns(i, 40) for i, s in enumerate(symbols)})  # type: ignore[arg-type]
    settings = make_settings(platform_admins=f"console:{console_user_id('admin')}")
    world = ChatWorld(sqlite_db, platform="console", settings=settings)
    lines: list[str] = []
    chat = ConsoleChat(world.layer, "grace", write=lines.append, files_dir=tmp_path)
    chat.run_script(SCRIPT.replace("STRAT-YIELD-USDC-001", symbols[0]).splitlines())
    assert any(line.startswith("Bought ") for line in lines), "\n".join(lines)
    scheduler = ArenaScheduler(sqlite_db, world.notifier)
    assert scheduler.run_now("rebalance_and_drift")
    proposal = world.notifier.messages[-1]
    assert proposal.platform == "console" and proposal.chat_id == console_user_id("grace")
    chat.render(proposal.reply)  # the console shows the pushed proposal with numbered buttons
    number = next(n for n, action in chat.buttons.items() if action.startswith("proposal approve"))
    assert any(f"[{number}] Approve" in line for line in lines)
    chat.handle(f"press {number}")
    assert lines[-1].startswith("Approved"), lines[-3:]
    chat.handle("/digest")
    assert any("Daily digest" in line for line in lines)
