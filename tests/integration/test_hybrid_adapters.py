"""Hybrid approvals end to end through the real chat libraries (only the network is faked):
python-telegram-bot's ``Application`` fed Bot API updates, and discord.py's interaction path fed
gateway INTERACTION_CREATE payloads. Each: /suggest -> a proposal with Approve / Reject -> Approve ->
trades executed and reported; a second press has one effect; another organisation's admin is refused
exactly like a missing id; an unanswered proposal expires with a notice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import discord
import pytest
from discord.webhook.async_ import async_context

from core.clock import SimulatedClock
from core.db import Database
from scheduler.service import ArenaScheduler
from tests.e2e.chat_support import ADMIN_ID
from tests.integration.test_discord_adapter import APP_ID, DC, press, slash, user_payload
from tests.integration.test_telegram_adapter import TG
from tests.support.hybrid import executions, holdings, proposal_id_in, tokens_with_history, wallet_of


@pytest.fixture
async def tg(sqlite_db: Database) -> AsyncIterator[TG]:
    harness = TG(sqlite_db)
    await harness.app.initialize()
    yield harness
    await harness.app.shutdown()


@pytest.fixture
async def dc(sqlite_db: Database) -> AsyncIterator[DC]:
    harness = DC(sqlite_db)
    await harness.client._async_setup_hook()
    harness.client._connection.application_id = APP_ID
    me: object = user_payload(APP_ID)
    harness.client._connection.user = discord.ClientUser(state=harness.client._connection, data=me)  # type: ignore[arg-type]
    token = async_context.set(harness.http)
    yield harness
    async_context.reset(token)
    await harness.client.close()


def _expire(db: Database, notifier: object) -> None:
    clock = db.clock
    assert isinstance(clock, SimulatedClock)
    clock.advance(timedelta(hours=25))
    assert ArenaScheduler(db, notifier).run_now("proposal_expiry")  # type: ignore[arg-type]


async def test_hybrid_approval_through_telegram(tg: TG, sqlite_db: Database) -> None:
    tokens_with_history(sqlite_db)
    org = await tg.onboard(100)
    await tg.say(ADMIN_ID, f"/verify {org}")
    await tg.say(100, "/deposit 10,000")
    await tg.press(100, tg.last_buttons()[0])
    other = await tg.onboard(200, "Hope Church")
    await tg.say(ADMIN_ID, f"/verify {other}")
    await tg.say(100, "/plan basic")  # new wallets start on Free (manual only)
    await tg.press(100, tg.last_buttons()[0])
    await tg.say(100, "/mode hybrid")
    wallet = wallet_of(sqlite_db, org)

    card = (await tg.say(100, "/suggest"))[-1]
    pid = proposal_id_in(card)
    assert "Target allocation:" in card and "Equal-weight alternative:" in card and "- buy " in card
    assert tg.last_buttons() == [f"proposal approve {pid}", f"proposal reject {pid}"]
    await tg.say(100, "/proposals")
    assert tg.last_buttons() == [f"proposal approve {pid}", f"proposal reject {pid}"]

    foreign = await tg.press(200, f"proposal approve {pid}")
    missing = await tg.press(200, f"proposal approve {pid + 100}")
    foreign_text = next(p["text"] for m, p in foreign if m == "answerCallbackQuery")
    missing_text = next(p["text"] for m, p in missing if m == "answerCallbackQuery")
    assert foreign_text == missing_text.replace(f"#{pid + 100}", f"#{pid}")
    assert holdings(sqlite_db, wallet) == 0

    approved = await tg.press(100, f"proposal approve {pid}")
    text = next(str(p["text"]) for m, p in approved if m == "sendMessage")
    assert text.startswith(f"Approved proposal #{pid}: ") and "- bought " in text
    traded = holdings(sqlite_db, wallet)
    assert traded >= 1 and executions(sqlite_db, wallet) == 1
    again = await tg.press(100, f"proposal approve {pid}")
    assert any(str(p.get("text", "")).startswith("Already done") for _, p in again)
    assert executions(sqlite_db, wallet) == 1 and holdings(sqlite_db, wallet) == traded

    late = proposal_id_in((await tg.say(100, "/suggest"))[-1])
    _expire(sqlite_db, tg.world.notifier)
    notice = tg.world.notifier.messages[-1]
    assert notice.chat_id == 100 and f"Proposal #{late} expired" in notice.reply.text
    expired = await tg.press(100, f"proposal approve {late}")
    assert any("expired" in str(p.get("text", "")) for _, p in expired)
    assert executions(sqlite_db, wallet) == 1


async def _answer(dc: DC, payload: dict[str, object]) -> str:
    """The last text the bot sent for one interaction, waiting for a deferred command's follow-up."""
    before = len(dc.http.sent)
    texts = await dc.dispatch(payload)
    for _ in range(1000):
        if any(texts):
            break
        await asyncio.sleep(0.02)
        texts = [str(item["body"].get("content") or "") for item in dc.http.sent[before:]]
        texts += [str(item["body"].get("data", {}).get("content") or "") for item in dc.http.sent[before:]
                  if isinstance(item["body"].get("data"), dict)]
    return next((t for t in reversed(texts) if t), "")


async def _onboard_discord(dc: DC, user_id: int, name: str) -> int:
    from tests.integration.test_discord_adapter import modal_submit

    await dc.dispatch(slash(user_id, "start"))
    for _ in range(4):
        (custom_id,) = dc.http.custom_ids()
        await dc.dispatch(press(user_id, custom_id))
    await dc.dispatch(press(user_id, "arena:org register church"))
    modal = dc.http.sent[-1]["body"]
    texts = await dc.dispatch(modal_submit(user_id, modal["data"]["custom_id"], name))
    await dc.dispatch(slash(user_id, "agreement"))  # the PDF and summary, then Agree
    (agree,) = dc.http.custom_ids()
    await dc.dispatch(press(user_id, agree))
    return int(texts[-1].split("#", 1)[1].split(",", 1)[0])


async def test_hybrid_approval_through_discord(dc: DC, sqlite_db: Database) -> None:
    tokens_with_history(sqlite_db)
    org = await _onboard_discord(dc, 100, "Grace Chapel")
    await dc.dispatch(slash(ADMIN_ID, "verify", str(org)))
    await dc.dispatch(slash(100, "deposit", "10,000"))
    await dc.dispatch(press(100, dc.http.custom_ids()[0]))
    other = await _onboard_discord(dc, 200, "Hope Church")
    await dc.dispatch(slash(ADMIN_ID, "verify", str(other)))
    await dc.dispatch(slash(100, "plan", "basic"))  # new wallets start on Free (manual only)
    await dc.dispatch(press(100, dc.http.custom_ids()[0]))
    await dc.dispatch(slash(100, "mode", "hybrid"))
    wallet = wallet_of(sqlite_db, org)

    card = await _answer(dc, slash(100, "suggest"))  # slow: deferred, then a follow-up
    pid = proposal_id_in(card)
    assert "Target allocation:" in card and "Why:" in card
    approve, reject = dc.http.custom_ids()
    assert (approve, reject) == (f"arena:proposal approve {pid}", f"arena:proposal reject {pid}")

    foreign = await _answer(dc, press(200, approve))
    missing = await _answer(dc, press(200, f"arena:proposal approve {pid + 100}"))
    assert foreign == missing.replace(f"#{pid + 100}", f"#{pid}") and "no proposal" in foreign
    assert holdings(sqlite_db, wallet) == 0

    approved = await _answer(dc, press(100, approve))
    assert approved.startswith(f"Approved proposal #{pid}: ") and "- bought " in approved
    traded = holdings(sqlite_db, wallet)
    assert traded >= 1 and executions(sqlite_db, wallet) == 1
    assert (await _answer(dc, press(100, approve))).startswith("Already done")
    assert executions(sqlite_db, wallet) == 1 and holdings(sqlite_db, wallet) == traded

    late = proposal_id_in(await _answer(dc, slash(100, "suggest")))
    _expire(sqlite_db, dc.world.notifier)
    assert f"Proposal #{late} expired" in dc.world.notifier.messages[-1].reply.text
    expired = await _answer(dc, press(100, f"arena:proposal approve {late}"))
    assert "expired" in expired and executions(sqlite_db, wallet) == 1


def _custom_ids_since(dc: DC, before: int) -> list[str]:
    """Button custom ids of the messages the bot sent after the first ``before`` ones."""
    ids: list[str] = []
    for item in dc.http.sent[before:]:
        data = item["body"].get("data", item["body"])
        rows = data.get("components") if isinstance(data, dict) else None
        ids += [c["custom_id"] for row in rows or [] for c in row.get("components", [])]
    return ids


async def test_discord_rebalance_proposes_and_proposals_carry_buttons(dc: DC, sqlite_db: Database) -> None:
    """On a hybrid wallet /rebalance makes a proposal (no trade); /proposals shows it again with its
    Approve / Reject buttons as Discord components; Approve from that message executes it once."""
    tokens_with_history(sqlite_db)
    org = await _onboard_discord(dc, 100, "Grace Chapel")
    await dc.dispatch(slash(ADMIN_ID, "verify", str(org)))
    await dc.dispatch(slash(100, "deposit", "10,000"))
    await dc.dispatch(press(100, dc.http.custom_ids()[0]))
    await dc.dispatch(slash(100, "plan", "basic"))
    await dc.dispatch(press(100, dc.http.custom_ids()[0]))
    await dc.dispatch(slash(100, "mode", "hybrid"))
    wallet = wallet_of(sqlite_db, org)
    assert "No proposals are waiting for a decision. /suggest makes one now." in await _answer(
        dc, slash(100, "proposals"))

    card = await _answer(dc, slash(100, "rebalance"))  # slow: deferred, then a follow-up
    pid = proposal_id_in(card)
    assert card.startswith(f"Proposal #{pid}") and "Target allocation:" in card
    assert holdings(sqlite_db, wallet) == 0 and executions(sqlite_db, wallet) == 0  # proposed, not traded

    before = len(dc.http.sent)
    listed = await _answer(dc, slash(100, "proposals"))
    assert listed.startswith(f"Proposal #{pid}") and "Target allocation:" in listed
    # The buttons of the /proposals answer itself (not the earlier card's).
    approve, reject = _custom_ids_since(dc, before)
    assert (approve, reject) == (f"arena:proposal approve {pid}", f"arena:proposal reject {pid}")

    approved = await _answer(dc, press(100, approve))
    assert approved.startswith(f"Approved proposal #{pid}: ") and "- bought " in approved
    traded = holdings(sqlite_db, wallet)
    assert traded >= 1 and executions(sqlite_db, wallet) == 1
    assert (await _answer(dc, press(100, approve))).startswith("Already done")
    assert executions(sqlite_db, wallet) == 1 and holdings(sqlite_db, wallet) == traded
    assert "No proposals are waiting" in await _answer(dc, slash(100, "proposals"))
