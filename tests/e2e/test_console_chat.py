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
/agreement
press 8
/buy STRAT-YIELD-USDC-001 100
@admin /verify 1
/deposit 1000
/deposit 2000
press 9
press 11
/buy STRAT-YIELD-USDC-001 250
press 13
press 13
/wallet
/frobnicate
/mode hybrid
/plan basic
press 15
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


def _press_label(chat: ConsoleChat, label: str, proposal_id: int) -> str:
    """The ``press N`` line for the console button ``label`` of proposal ``proposal_id``."""
    action = f"proposal {label.lower()} {proposal_id}"
    number = max(n for n, a in chat.buttons.items() if a == action)
    return f"press {number}"


def test_hybrid_approval_in_the_console(sqlite_db: Database, tmp_path: Path) -> None:
    """suggest -> proposal with buttons -> approve -> trades executed and reported; a second press
    has one effect; another organisation's admin is refused exactly like a missing id; expiry."""
    from datetime import timedelta

    from bot.console_chat import ConsoleNotifier
    from core.clock import SimulatedClock
    from core.commands.dispatcher import CommandLayer
    from tests.support.hybrid import executions, holdings, proposal_id_in, tokens_with_history, wallet_of

    tokens_with_history(sqlite_db)
    settings = make_settings(platform_admins=f"console:{console_user_id('admin')}")
    notifier = ConsoleNotifier()
    lines: list[str] = []
    chat = ConsoleChat(CommandLayer(sqlite_db, settings, notifier=notifier), "grace",
                       write=lines.append, files_dir=tmp_path)
    notifier.chat = chat
    onboard = ["/start", "press 1", "press 2", "press 3", "press 4", "press 5", "Grace Chapel",
               "/agreement", "press 8", "@admin /verify 1", "/deposit 10,000", "press 9", "/plan basic",
               "press 11", "/mode hybrid"]
    chat.run_script(onboard)
    other = ["@hope /start", "@hope press 13", "@hope press 14", "@hope press 15", "@hope press 16",
             "@hope /org register church Hope Church", "@hope /agreement", "@hope press 20",
             "@admin /verify 2"]
    chat.run_script(other)
    assert "Cash now: $10,000.00" in "\n".join(lines)
    assert "Organisation #2 Hope Church verified" in "\n".join(lines)
    wallet = wallet_of(sqlite_db, 1)
    card = chat.handle("/suggest")
    assert card is not None and card.text.startswith("Proposal #"), "\n".join(lines[-20:])
    pid = proposal_id_in(card.text)
    assert "Target allocation:" in card.text and "Equal-weight alternative:" in card.text
    assert "Trades it implies" in card.text and "- buy STRAT-TEST" in card.text and "Why:" in card.text
    listed = chat.handle("/proposals")
    assert listed is not None and f"Proposal #{pid}" in listed.text
    assert [b.label for b in listed.all_buttons()] == ["Approve", "Reject"]
    # Another organisation's admin: the same answer as for an id that does not exist.
    foreign = chat.handle(f"@hope /approve {pid}")
    missing = chat.handle(f"@hope /approve {pid + 100}")
    assert foreign is not None and missing is not None
    assert foreign.text == missing.text.replace(f"#{pid + 100}", f"#{pid}")
    assert holdings(sqlite_db, wallet) == 0
    approved = chat.handle(_press_label(chat, "Approve", pid))
    assert approved is not None and approved.text.startswith(f"Approved proposal #{pid}: ")
    assert " executed" in approved.text and "- bought " in approved.text
    traded = holdings(sqlite_db, wallet)
    assert traded >= 1 and executions(sqlite_db, wallet) == 1
    again = chat.handle(_press_label(chat, "Approve", pid))
    assert again is not None and again.text.startswith("Already done")
    assert executions(sqlite_db, wallet) == 1 and holdings(sqlite_db, wallet) == traded
    # Expiry: a proposal nobody answers expires, its owners are told, and its button says so.
    card = chat.handle("/suggest")
    assert card is not None
    late = proposal_id_in(card.text)
    clock = sqlite_db.clock
    assert isinstance(clock, SimulatedClock)
    clock.advance(timedelta(hours=25))
    scheduler = ArenaScheduler(sqlite_db, notifier)
    assert scheduler.run_now("proposal_expiry")
    assert any(f"Proposal #{late} expired without a decision" in line for line in lines)
    expired = chat.handle(_press_label(chat, "Approve", late))
    assert expired is not None and "expired" in expired.text and executions(sqlite_db, wallet) == 1
