"""/statement in chat (a PDF attachment through the command layer) and `arena statement` on the CLI,
over a world made through chat: a verified church deposits 5,000 and buys a token for 1,000 in
January 2025 (no NAV mark moves the price, so its January closes at 5,000 to the cent)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from core.clock import SimulatedClock
from core.commands.context import Hooks
from core.commands.dispatcher import CommandLayer
from core.db import Database
from core.statements import RiskFreeRates
from tests.e2e.chat_support import ChatWorld, make_token


@pytest.fixture
def chat(sqlite_db: Database, clock: SimulatedClock) -> tuple[ChatWorld, int]:
    world = ChatWorld(sqlite_db)
    make_token(sqlite_db)
    org = world.onboard(30, "Grace Chapel")
    world.verify(org)
    clock.set(datetime(2025, 1, 5, tzinfo=UTC))
    world.confirm(30, world.say(30, "/deposit 5,000"))
    clock.set(datetime(2025, 1, 6, tzinfo=UTC))
    reply = world.confirm(30, world.say(30, "/buy STRAT-YIELD-USDC-001 1,000"))
    assert "bought" in reply.text.lower() or "STRAT-YIELD-USDC-001" in reply.text, reply.text
    clock.set(datetime(2025, 2, 3, tzinfo=UTC))
    return world, org


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_statement_in_chat_is_a_pdf(chat: tuple[ChatWorld, int]) -> None:
    world, _ = chat
    bills = RiskFreeRates("test bills", {})
    world.layer = CommandLayer(
        world.db, world.settings, hooks=Hooks(risk_free=lambda: bills), notifier=world.notifier
    )
    reply = world.say(30, "/statement")  # no month: the last complete one, 2025-01
    assert "Grace Chapel" in reply.text and "2025-01" in reply.text and "$5,000.00" in reply.text
    [pdf] = reply.attachments
    assert pdf.mime_type == "application/pdf" and pdf.filename.endswith("-2025-01.pdf")
    text = _pdf_text(pdf.data)
    assert "Grace Chapel" in text and "$5,000.00" in text and "Deposits" in text and "test bills" in text


def test_statement_in_chat_refuses_bad_input_in_one_line(chat: tuple[ChatWorld, int]) -> None:
    world, _ = chat
    for line, words in (
        ("/statement 2025-13", "YYYY-MM"),
        ("/statement 2031-01", "not started"),
        ("/statement 2025-01 extra", "Usage"),
    ):
        reply = world.say(30, line)
        assert words in reply.text and not reply.attachments and "\n" not in reply.text.strip(), reply.text
    assert "/start" in world.say(77, "/statement").text or "onboarding" in world.say(77, "/statement").text


def _arena(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENA_")}
    env["ARENA_CLOCK"] = "2025-02-03T00:00:00+00:00"
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_arena_statement_writes_pdf_and_csv(chat: tuple[ChatWorld, int], tmp_path: Path) -> None:
    world, org = chat
    db_url = world.db.url
    world.db.dispose()
    pdf = tmp_path / "jan.pdf"
    done = _arena(
        "--db", db_url, "statement", "--org", str(org), "--month", "2025-01", "--out", str(pdf), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "$5,000.00" in done.stdout and "Grace Chapel" in _pdf_text(pdf.read_bytes())
    out = tmp_path / "jan.csv"
    done = _arena(
        "--db",
        db_url,
        "statement",
        "--org",
        str(org),
        "--month",
        "2025-01",
        "--out",
        str(out),
        "--json",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    summary = {r["item"]: r["amount"] for r in rows if r["section"] == "summary"}
    assert Decimal(summary["closing cash"]) == Decimal(4000)
    # 5,000 less the rounding of units bought at a NAV just under 1 (5 days of management fee on the seed)
    assert Decimal(5000) - Decimal("0.01") < Decimal(summary["closing value"]) <= Decimal(5000)
    bad = _arena(
        "--db",
        db_url,
        "statement",
        "--org",
        str(org),
        "--month",
        "2025-01",
        "--out",
        str(tmp_path / "x.txt"),
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and ".pdf or .csv" in bad.stderr
