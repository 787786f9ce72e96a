"""/submit and /bounties through the command layer with the real composition-root hook (the
parser's document store): a church submits a write-up, its candidate becomes a token, the token
gains, the bounty accrues and is paid, and /bounties says so."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from bot.wiring import command_hooks
from core import ledger
from core.bounty.jobs import accrue_all, pay_all
from core.clock import SimulatedClock
from core.commands.dispatcher import CommandLayer
from core.db import Database
from core.models import StrategyToken
from core.models.money import StrategySubmission
from core.models.pipeline import StrategyCandidate
from tests.e2e.chat_support import ChatWorld, make_token

pytestmark = pytest.mark.usefixtures("pure_ledger")

TEXT = (
    "Lend USDC on Aave v3 and move to Compound whenever its supply rate is at least half a percent higher; "
    "check weekly."
)


@pytest.fixture
def chat(sqlite_db: Database) -> ChatWorld:
    world = ChatWorld(sqlite_db)
    world.layer = CommandLayer(
        sqlite_db, world.settings, hooks=command_hooks(sqlite_db, world.settings), notifier=world.notifier
    )
    return world


def test_submit_then_earn_and_see_bounties(chat: ChatWorld, clock: SimulatedClock) -> None:
    org = chat.onboard(30, "Faith Church")
    chat.verify(org)
    reply = chat.say(30, f"/submit {TEXT}")
    assert "submitted as candidate #" in reply.text and "5%" in reply.text, reply.text
    assert "already submitted" in chat.say(30, f"/submit {TEXT}").text
    other = chat.onboard(40, "Hope Trust")
    assert "bounty stays with its first submitter" in chat.say(40, f"/submit {TEXT}").text
    assert "None of your submissions is a token yet" in chat.say(30, "/bounties").text

    # The pipeline's outcome, stood in for: the candidate became a token; someone holds it; it gains.
    symbol = make_token(chat.db, "STRAT-YIELD-USDC-001")
    with chat.db.uow() as uow:
        s = uow.session
        token_id = s.scalar(select(StrategyToken.id).where(StrategyToken.symbol == symbol))
        doc = s.scalar(
            select(StrategySubmission.document_id).where(StrategySubmission.organisation_id == org)
        )
        s.execute(
            update(StrategyCandidate).where(StrategyCandidate.document_id == doc).values(token_id=token_id)
        )
        uow.commit()
    chat.verify(other)
    chat.confirm(40, chat.say(40, "/deposit 2,000"))
    chat.confirm(40, chat.say(40, f"/buy {symbol} 1,000"))
    clock.set(datetime(2025, 1, 2, 18, tzinfo=UTC))
    ledger.mark_nav(chat.db.uow(), symbol, date(2025, 1, 2), "0.10")
    funded = Decimal(accrue_all(chat.db)["funded"][symbol])
    assert funded > 0
    text = chat.say(30, "/bounties").text
    assert f"{symbol}: earned" in text and "1 strategy submitted" in text and "paid $0.00" in text
    clock.set(datetime(2025, 2, 1, 1, 10, tzinfo=UTC))
    pay_all(chat.db, "2025-01", chat.notifier)
    assert any("Import bounty for 2025-01" in m.reply.text for m in chat.notifier.messages)
    assert "Accrued $0.00" in chat.say(30, "/bounties").text


@pytest.mark.parametrize(
    "line, words",
    [("/submit", "Usage"), ("/submit buy low", "at least 40"), ("/submit ftp://x.example/a", "at least 40")],
)
def test_submit_refuses_bad_input_in_one_line(chat: ChatWorld, line: str, words: str) -> None:
    chat.verify(chat.onboard(30, "Faith Church"))
    reply = chat.say(30, line)
    assert words in reply.text and "\n" not in reply.text.strip()
