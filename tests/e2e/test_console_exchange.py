"""Done means: two organisations trade a sold-out token in the console chat end to end — ask, bid
(each confirmed with a button), fill, both told — and ``arena ledger check`` is ok afterwards.
Runs the real ``arena chat --script`` and ``arena ledger check`` in subprocesses on a SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core.db import Database
from tests.e2e.chat_support import make_token

ARENA = str(Path(sys.executable).with_name("arena"))
SYM = "STRAT-YIELD-USDC-001"

# The console numbers buttons for the whole session: Grace's onboarding shows buttons 1-7, Mark's 8-14,
# then each accepts the PMA agreement (15, 16).
SCRIPT = f"""\
/start
press 1
press 2
press 3
press 4
press 5
Grace Chapel
@mark /start
@mark press 8
@mark press 9
@mark press 10
@mark press 11
@mark press 12
@mark St Mark Parish
/agreement
press 15
@mark /agreement
@mark press 16
@admin /verify 1
@admin /verify 2
/deposit 1000
press 17
@mark /deposit 1000
@mark press 19
# Grace buys everything that is left (supply 300: 100 seed units + 200): the token is sold out
/buy {SYM} 200
press 21
# refused before any button: the token is sold out
@mark /buy {SYM} 10
/ask {SYM} 50 1.01
press 23
@mark /book {SYM}
@mark /bid {SYM} 80 1.01
@mark press 25
/orders
@mark /orders
@mark /cancel 2
/wallet
@mark /wallet
"""


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ARENA, *args], capture_output=True, text=True, env=env, timeout=180, check=False)


def test_two_organisations_trade_a_sold_out_token_in_the_console(sqlite_db: Database, tmp_path: Path) -> None:
    wall_clock = Database(sqlite_db.url)  # the chat runs on the real clock: no fee time before it starts
    make_token(wall_clock, SYM, supply="300")
    wall_clock.dispose()
    script = tmp_path / "exchange.txt"
    script.write_text(SCRIPT)
    # No management fee: the NAV stays exactly 1.00 however slowly the subprocess starts, so 200 USD
    # buys exactly the 200 units left (a fee accrues one cash quantum every ~3 s on the 100 USD seed).
    env = {
        **os.environ,
        "ARENA_DB_URL": sqlite_db.url,
        "ARENA_PLATFORM_ADMINS": "",
        "ARENA_MANAGEMENT_FEE_RATE": "0",
    }
    chat = _run(
        "chat",
        "--user",
        "grace",
        "--admin",
        "admin",
        "--script",
        str(script),
        "--files",
        str(tmp_path),
        env=env,
    )
    out = chat.stdout
    assert chat.returncode == 0, chat.stderr
    assert "Traceback" not in out + chat.stderr
    assert "is sold out; tokens can still change hands between holders" in out
    assert "Ask #1 placed." in out and "50 wait on the book" in out
    # Mark's bid lifts Grace's ask at her price; his rest (30) waits with its cash reserved
    assert "Bid #2 placed. Filled: bought 50 STRAT-YIELD-USDC-001 at $1.0100 for $50.50." in out
    assert "30 wait on the book, $30.30 reserved" in out
    # both sides told
    fill = "Exchange fill: you {} 50 STRAT-YIELD-USDC-001 at $1.0100 for $50.50"
    assert "[message for grace]\n" + fill.format("sold") in out
    assert "[message for mark]\n" + fill.format("bought") in out
    assert "Order #2 cancelled; $30.30 released back to your wallet." in out
    check = _run("ledger", "check", "--json", env=env)
    assert check.returncode == 0 and json.loads(check.stdout) == {"ok": True, "violations": []}, check.stdout
    (tmp_path / "console-exchange.log").write_text(out)
