"""The daily digest: value and change, per-token performance, allocation vs target and drift,
pending approvals, the chart and the footer."""

from __future__ import annotations

import struct
from datetime import timedelta
from decimal import Decimal

from core import ledger
from core.clock import SimulatedClock
from core.commands.handlers.platform_services import pending_proposal_lines
from core.db import Database
from core.digest.content import load_digest, render_digest
from core.models import AIWallet, AllocationSnapshot
from tests.e2e.chat_support import ChatWorld, make_token


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_digest_content_and_chart(sqlite_db: Database) -> None:
    clock = sqlite_db.clock
    assert isinstance(clock, SimulatedClock)
    world = ChatWorld(sqlite_db)
    symbols = [make_token(sqlite_db, f"STRAT-DIG-T{i}-001") for i in range(2)]
    world.verify(world.onboard(100))
    world.confirm(100, world.say(100, "/deposit 1000"))
    world.confirm(100, world.say(100, f"/buy {symbols[0]} 300"))
    world.confirm(100, world.say(100, f"/buy {symbols[1]} 200"))
    for day in range(31):
        clock.advance(timedelta(days=1))
        ledger.mark_nav(sqlite_db.uow(), symbols[0], clock.now().date(), "0.002" if day % 2 else "0.001")
        ledger.mark_nav(sqlite_db.uow(), symbols[1], clock.now().date(), "-0.001")
    with sqlite_db.uow() as uow:
        wallet = uow.session.query(AIWallet).filter(AIWallet.is_house.is_(False)).one()
        uow.session.add(
            AllocationSnapshot(
                wallet_id=wallet.id,
                created_at=clock.now(),
                mode="manual",
                trigger="suggestion",
                inputs={},
                weights={symbols[0]: "0.4", symbols[1]: "0.4"},
                cash_weight=Decimal("0.2"),
                expected_return=None,
                expected_volatility=None,
                expected_sharpe=None,
                equal_weight={},
                reasons={},
                drift_before=None,
            )
        )
        uow.commit()
        data = load_digest(
            uow.session, wallet, clock.now(), pending=pending_proposal_lines(uow.session, wallet.id)
        )
    assert data.value > Decimal("990")
    assert [t.symbol for t in data.tokens] == symbols
    assert data.tokens[0].change_30d is not None and data.tokens[0].change_30d > 0
    assert data.tokens[1].change_30d is not None and data.tokens[1].change_30d < 0
    assert data.drift is not None and Decimal("0") < data.drift < Decimal("0.5")
    assert len(data.wallet_index) == 30 and data.wallet_index[0] == 100.0
    reply = render_digest(data)
    assert f"{symbols[0]}:" in reply.text and "Drift from target" in reply.text
    assert "not investment advice" in reply.text and "equal weight" in reply.text
    assert png_size(reply.attachments[0].data) == (480, 240)


def test_digest_hour_is_validated(sqlite_db: Database) -> None:
    world = ChatWorld(sqlite_db)
    world.verify(world.onboard(100))
    assert "0 to 23" in world.say(100, "/digest 24").text
    assert "0 to 23" in world.say(100, "/digest -1").text
    assert "23:00 UTC" in world.say(100, "/digest 23").text
