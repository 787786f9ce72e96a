"""The issue's console story end to end (the real `arena chat` entry point in a subprocess): a new
treasurer applies, reads and accepts the generated PMA agreement (PDF saved), is verified from
/pending by an admin and told, hits the Free plan's limits, upgrades to Basic (billed) and switches
to hybrid mode, then submits a strategy write-up for the import bounty and reads /bounties."""

from __future__ import annotations

import calendar
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from core import formatting
from core.billing.charges import prorate
from core.db import Database
from core.models.money import StrategySubmission
from core.models.pipeline import SourceDocument, StrategyCandidate
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
/submit {text}
/bounties
"""
#: The import bounty (issue 14's "Done means"): a write-up submitted from the chat.
SUBMISSION = ("Hold USDC in the lending market with the best supply rate and move when another pays "
              "at least half a percent more; check weekly.")


def test_apply_agree_verify_plan_in_the_console(sqlite_db: Database, tmp_path: Path) -> None:
    for symbol in SYMBOLS:
        make_token(sqlite_db, symbol)
    script = tmp_path / "story.txt"
    script.write_text(SCRIPT.format(text=SUBMISSION))
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
    # The import bounty: the write-up became a candidate credited to Grace Chapel (organisation 1).
    submitted = re.search(r"Strategy submitted as candidate #(\d+)\. The import pipeline parses", out)
    assert submitted is not None, out
    assert "your organisation earns 5% of its net gains to holders in its first 365 days" in out
    with sqlite_db.uow(read_only=True) as uow:
        rows = uow.session.execute(
            select(StrategySubmission.organisation_id, StrategyCandidate.id, SourceDocument.text)
            .join(StrategyCandidate, StrategyCandidate.document_id == StrategySubmission.document_id)
            .join(SourceDocument, SourceDocument.id == StrategySubmission.document_id)
        ).all()
    assert [(org, str(cid)) for org, cid, _ in rows] == [(1, submitted.group(1))]
    assert rows[0][2].strip() == SUBMISSION
    assert "Import bounty: 1 strategy submitted by your organisation. Accrued $0.00" in out
    assert "None of your submissions is a token yet" in out
    assert "Traceback" not in out + done.stderr
