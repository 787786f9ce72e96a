"""The issue's console story end to end (the real `arena chat` entry point in a subprocess): a new
treasurer applies, reads and accepts the generated PMA agreement (PDF saved), is verified from
/pending by an admin and told, hits the Free plan's limits, upgrades to Basic (billed) and switches
to hybrid mode."""

from __future__ import annotations

import calendar
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from core import formatting
from core.billing.charges import prorate
from core.db import Database
from tests.e2e.chat_support import make_token

ARENA = str(Path(sys.executable).with_name("arena"))
SYMBOLS = ["STRAT-A-USDC-001", "STRAT-B-USDC-001", "STRAT-C-USDC-001", "STRAT-D-USDC-001"]
SCRIPT = """\
/start
press 1
press 2
press 3
press 4
press 5
Grace Chapel
/apply ein 12-3456789
/agreement
press 8
@root /pending
@root press 9
/deposit 50,000
press 11
/buy STRAT-A-USDC-001 100
press 13
/buy STRAT-B-USDC-001 100
press 15
/buy STRAT-C-USDC-001 100
press 17
/buy STRAT-D-USDC-001 100
/mode hybrid
/plan
press 19
press 21
/mode hybrid
/wallet
"""


def test_apply_agree_verify_plan_in_the_console(sqlite_db: Database, tmp_path: Path) -> None:
    for symbol in SYMBOLS:
        make_token(sqlite_db, symbol)
    script = tmp_path / "story.txt"
    script.write_text(SCRIPT)
    env = {**os.environ, "ARENA_DB_URL": sqlite_db.url, "ARENA_PLATFORM_ADMINS": ""}
    today = datetime.now(UTC).date()  # the console chat runs on the wall clock: the charge is prorated
    days = calendar.monthrange(today.year, today.month)[1]
    charge = prorate(Decimal(50), days - today.day + 1, days)
    done = subprocess.run([ARENA, "chat", "--user", "alice", "--admin", "root", "--script", str(script),
                           "--files", str(tmp_path)], capture_output=True, text=True, env=env, timeout=180,
                          check=False)
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert "usually within one to two business days" in out
    assert "Your PMA agreement (pma-v1) for Grace Chapel is attached (PDF)" in out
    assert (tmp_path / "pma-agreement-pma-v1-org1.pdf").read_bytes().startswith(b"%PDF")
    assert out.index("[file saved:") < out.index("] Agree")  # the PDF comes before the button
    assert "Recorded: Grace Chapel accepts the PMA agreement pma-v1" in out
    assert "EIN/registration: 12-3456789" in out and "PMA agreement: accepted" in out
    assert "[message for alice]\nGood news: Grace Chapel is verified" in out
    assert out.count("Bought ") == 3
    assert "The Free plan holds at most 3 different tokens" in out
    assert "hybrid mode needs an AI plan — the Basic ($50.00/month) plan allows it" in out
    left = days - today.day + 1
    assert f"{formatting.cash(charge)} now for the rest of this month ({left} of {days} days)" in out
    assert "You are now on the Basic ($50.00/month) plan" in out and "Mode is now hybrid" in out
    assert f"Cash: {formatting.cash(Decimal(49700) - charge)}" in out  # 50,000 - 3 x 100 - the charge
    assert "Traceback" not in out + done.stderr
