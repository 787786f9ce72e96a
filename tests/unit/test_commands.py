"""The command layer end to end on a real SQLite file: onboarding, verification, money with confirm."""

from __future__ import annotations

from sqlalchemy import func, select

from core.commands.types import ChatType
from core.db import Database
from core.models import Attestation, IdempotencyKey, Organisation, OrgStatus
from core.models.chat import PendingConfirmation
from tests.e2e.chat_support import ChatWorld, make_token


def test_onboarding_verification_and_buy(sqlite_db: Database) -> None:
    world = ChatWorld(sqlite_db)
    make_token(sqlite_db)
    org_id = world.onboard(100)
    with sqlite_db.uow(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Attestation)) == 4
        assert uow.session.get(Organisation, org_id).status is OrgStatus.PENDING  # type: ignore[union-attr]
    # Pending organisation: browse yes, trade no.
    assert "STRAT-YIELD-USDC-001" in world.say(100, "/tokens").text
    assert "verified" in world.say(100, "/buy STRAT-YIELD-USDC-001 100").text
    assert "Organisation #" in world.verify(org_id).text
    deposit = world.say(100, "/deposit 1000")
    assert world.confirm(100, deposit).text.startswith("Deposited $1,000.00")
    ask = world.say(100, "/buy STRAT-YIELD-USDC-001 250")
    assert [b.label for b in ask.all_buttons()] == ["Confirm", "Cancel"]
    done = world.confirm(100, ask)
    assert done.text.startswith("Bought"), done.text
    again = world.confirm(100, ask)
    assert again.text.startswith("Already done")  # second press: says so, no second effect
    wallet = world.say(100, "/wallet").text
    assert "STRAT-YIELD-USDC-001" in wallet and "Cash: $750.00" in wallet


def test_same_update_twice_gives_one_pending_row(sqlite_db: Database) -> None:
    world = ChatWorld(sqlite_db)
    make_token(sqlite_db)
    world.verify(world.onboard(100))
    world.confirm(100, world.say(100, "/deposit 100"))
    first = world.say(100, "/buy STRAT-YIELD-USDC-001 10", key="chat100:msg7")
    second = world.say(100, "/buy STRAT-YIELD-USDC-001 10", key="chat100:msg7")
    assert first.buttons and first.all_buttons() == second.all_buttons()
    with sqlite_db.uow(read_only=True) as uow:  # the deposit's and the buy's
        assert uow.session.scalar(select(func.count()).select_from(PendingConfirmation)) == 2


def test_edited_message_never_moves_money(sqlite_db: Database) -> None:
    world = ChatWorld(sqlite_db)
    world.verify(world.onboard(100))
    reply = world.say(100, "/deposit 10", edited=True)
    assert "Edited messages never move money" in reply.text
    assert not reply.buttons


def test_only_requester_can_confirm_and_cancel_is_final(sqlite_db: Database) -> None:
    world = ChatWorld(sqlite_db)
    world.verify(world.onboard(100))
    ask = world.say(100, "/deposit 10")
    stranger = world.press(200, ask, "Confirm").text
    missing = world.layer.handle_line(world.ident(200), "/confirm 999", "k-missing", via_button=True).text
    assert stranger == missing and "does not exist" in stranger  # cannot be told apart
    assert "Cancelled" in world.press(100, ask, "Cancel").text
    assert "cancelled" in world.confirm(100, ask).text
    with sqlite_db.uow(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


def test_unknown_and_bad_arguments_are_short_answers(sqlite_db: Database) -> None:
    world = ChatWorld(sqlite_db)
    assert world.say(5, "/frobnicate").text.startswith("Unknown command /frobnicate")
    assert world.say(5, "/confirm 1").text.startswith("Unknown command")  # button-only
    world.verify(world.onboard(100))
    assert world.say(100, "/buy").text.startswith("Usage: /buy SYMBOL AMOUNT")
    assert "not an amount; write it like 1000" in world.say(100, "/buy STRAT-YIELD-USDC-001 lots").text
    assert "no token NOPE" in world.say(100, "/buy NOPE 5").text
    assert "private chat" in world.say(100, "/buy STRAT-YIELD-USDC-001 5", chat_type=ChatType.GROUP).text
    assert world.layer.internal_errors == 0


def test_digest_hour_and_digest(sqlite_db: Database) -> None:
    world = ChatWorld(sqlite_db)
    make_token(sqlite_db)
    world.verify(world.onboard(100))
    world.confirm(100, world.say(100, "/deposit 500"))
    world.confirm(100, world.say(100, "/buy STRAT-YIELD-USDC-001 100"))
    assert "07:00 UTC" in world.say(100, "/digest 7").text
    digest = world.say(100, "/digest")
    assert "Daily digest" in digest.text and "not investment advice" in digest.text
    assert digest.attachments[0].data.startswith(b"\x89PNG")
    assert "STRAT-YIELD-USDC-001" in digest.text  # the holding just bought is in it


def test_hybrid_proposal_approved_by_owner_once(sqlite_db: Database) -> None:
    from core import wallets
    from tests.wallet_fixtures import mark_days, random_returns

    world = ChatWorld(sqlite_db)
    symbols = [f"STRAT-TEST-T{i}-001" for i in range(5)]
    for symbol in symbols:
        make_token(sqlite_db, symbol, supply="100000000")
    mark_days(sqlite_db, sqlite_db.clock, {s: random_returns(i, 40) for i, s in enumerate(symbols)})  # type: ignore[arg-type]
    world.verify(world.onboard(100))
    world.confirm(100, world.say(100, "/deposit 10000"))
    assert "manual only" in world.say(100, "/mode hybrid").text  # a new wallet starts on Free
    assert "You are now on the Basic" in world.confirm(100, world.say(100, "/plan basic")).text
    assert "Mode is now hybrid" in world.say(100, "/mode hybrid").text
    report = wallets.run_rebalance_cycle(sqlite_db.uow(), notifier=world.notifier)
    assert report.proposed == 1, report
    message = world.notifier.messages[-1]
    assert message.chat_id == 100
    approved = world.press(100, message.reply, "Approve")
    assert approved.text.startswith("Approved"), approved.text
    assert world.press(100, message.reply, "Approve").text.startswith("Already done")
    stranger = world.press(300, message.reply, "Approve")
    assert "Complete onboarding" in stranger.text
    assert "STRAT-TEST" in world.say(100, "/wallet").text


def test_import_and_backtest_use_the_wired_hooks(sqlite_db: Database) -> None:
    from core.commands.context import Hooks

    world = ChatWorld(sqlite_db)
    world.onboard(100)
    assert "not enabled" in world.say(100, "/import https://example.org/post").text
    calls: list[tuple[str, str]] = []

    def fake_import(url: str, key: str) -> str:
        calls.append((url, key))
        return "imported 1"

    world.layer.hooks = Hooks(import_url=fake_import, run_backtest=lambda cid: f"backtest {cid}")
    assert world.say(100, "/import https://example.org/post", key="tg:1:2").text == "imported 1"
    assert calls == [("https://example.org/post", "tg:1:2")]
    assert "Usage: /import URL" in world.say(100, "/import ftp://x").text
    assert world.say(100, "/backtest 7").text == "backtest 7"
    assert world.layer.is_slow("import") and world.layer.is_slow("backtest")


def test_the_quoted_nav_is_the_nav_the_buy_fills_at(sqlite_db: Database) -> None:
    """Fees settle before the quote: after a year without trades (a year of unsettled management
    fee) the NAV on the Confirm prompt is the NAV the buy fills at."""
    import re
    from datetime import timedelta

    from core.clock import SimulatedClock

    world = ChatWorld(sqlite_db)
    make_token(sqlite_db)
    world.verify(world.onboard(100))
    world.confirm(100, world.say(100, "/deposit 1000"))
    world.confirm(100, world.say(100, "/buy STRAT-YIELD-USDC-001 500"))
    clock = sqlite_db.clock
    assert isinstance(clock, SimulatedClock)
    clock.advance(timedelta(days=365))
    ask = world.say(100, "/buy STRAT-YIELD-USDC-001 100")
    quoted = re.search(r"at NAV (\$\d\.\d{4}) per token", ask.text)
    assert quoted is not None, ask.text
    assert quoted.group(1) == "$0.9900"  # 1 % a year of management fee, settled before the quote
    done = world.confirm(100, ask)
    assert f"at NAV {quoted.group(1)}." in done.text, done.text


def test_trades_that_cannot_succeed_get_no_button(sqlite_db: Database) -> None:
    world = ChatWorld(sqlite_db)
    make_token(sqlite_db)
    world.verify(world.onboard(100))
    world.confirm(100, world.say(100, "/deposit 100"))
    for line, words in (
        ("/buy STRAT-YIELD-USDC-001 500", "less than $500.00"),  # not enough cash
        ("/sell STRAT-YIELD-USDC-001 5", "holds no STRAT-YIELD-USDC-001"),  # nothing held
        ("/buy STRAT-YIELD-USDC-001 0.001", "at least $0.01 (one cent)"),  # under the minimum
        ("/buy STRAT-YIELD-USDC-001 1,5", "commas in the wrong place"),
    ):
        reply = world.say(100, line)
        assert words in reply.text and not reply.buttons, reply.text
    world.confirm(100, world.say(100, "/buy STRAT-YIELD-USDC-001 5"))
    too_many = world.say(100, "/sell STRAT-YIELD-USDC-001 6")
    assert "at most 5 STRAT-YIELD-USDC-001" in too_many.text and not too_many.buttons
    everything = world.say(100, "/sell STRAT-YIELD-USDC-001 all")
    assert "That is the whole position" in everything.text and everything.buttons
    assert world.confirm(100, everything).text.startswith("Redeemed 5 STRAT-YIELD-USDC-001 for $5.00")
    with sqlite_db.uow(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(PendingConfirmation)) == 3
