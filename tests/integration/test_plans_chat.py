"""Plans in chat (/plan, /risk, the buy quote) and on the command line (`arena plan`, `arena status`),
over the real command layer and a real SQLite file."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import select
from typer.testing import CliRunner

from core.db import Database
from core.models import AIWallet, Tier
from core.models.billing import PlanCharge
from tests.e2e.chat_support import ChatWorld, make_token
from tests.support.ledger_world import violations

SYMBOLS = [f"STRAT-PLAN-T{i}-001" for i in range(4)]


def _verified_with_cash(db: Database) -> ChatWorld:
    for symbol in SYMBOLS:
        make_token(db, symbol, supply="100000000")
    world = ChatWorld(db)
    world.verify(world.onboard(100))
    world.confirm(100, world.say(100, "/deposit 10,000"))
    return world


def _wallet(db: Database) -> AIWallet:
    with db.uow(read_only=True) as uow:
        wallet = uow.session.scalars(select(AIWallet).where(AIWallet.is_house.is_(False))).one()
        uow.session.expunge(wallet)
        return wallet


def test_plan_card_and_upgrade_by_button(sqlite_db: Database) -> None:
    world = _verified_with_cash(sqlite_db)
    card = world.say(100, "/plan")
    assert "Plan: Free — manual mode only, up to 3 tokens." in card.text
    assert "Tokens held or bid for: 0 of 3" in card.text
    assert "Basic ($50.00/month)" in card.text and "Premium ($200.00/month)" in card.text
    assert [b.action for b in card.all_buttons()] == ["plan basic", "plan premium"]
    quote = world.press(100, card, "Upgrade to Basic")
    # The simulated clock is at 1 January 2025: 31 of 31 days -> the whole $50.00.
    assert "$50.00 now for the rest of this month (31 of 31 days)" in quote.text
    assert _wallet(sqlite_db).tier is Tier.FREE  # nothing happens before Confirm
    done = world.confirm(100, quote)
    assert done.text.startswith("You are now on the Basic ($50.00/month) plan"), done.text
    assert _wallet(sqlite_db).tier is Tier.BASIC and _wallet(sqlite_db).cash == Decimal("9950")
    assert "Already done" in world.confirm(100, quote).text  # a second press charges nothing
    with sqlite_db.uow(read_only=True) as uow:
        assert len(uow.session.scalars(select(PlanCharge)).all()) == 1
    assert world.say(100, "/plan").all_buttons()[0].label == "Move to Free"
    assert "changes to Free on 2025-02-01" in world.confirm(100, world.say(100, "/plan free")).text
    assert "Scheduled: Free from 2025-02-01" in world.say(100, "/plan").text
    assert violations(sqlite_db) == []


def test_fourth_token_refused_before_the_confirm_button(sqlite_db: Database) -> None:
    world = _verified_with_cash(sqlite_db)
    for symbol in SYMBOLS[:3]:
        world.confirm(100, world.say(100, f"/buy {symbol} 100"))
    refused = world.say(100, f"/buy {SYMBOLS[3]} 100")
    assert not refused.all_buttons()
    assert "Free plan holds at most 3 different tokens" in refused.text and "Basic" in refused.text
    refused_bid = world.say(100, f"/bid {SYMBOLS[3]} 100 1.00")
    assert not refused_bid.all_buttons() and "Basic" in refused_bid.text
    assert "manual only" in world.say(100, "/rebalance").text  # the optimizer trades only on AI plans


def test_plan_changes_need_the_org_admin_and_a_new_message(sqlite_db: Database) -> None:
    world = _verified_with_cash(sqlite_db)
    assert "Edited messages never change the plan" in world.say(100, "/plan basic", edited=True).text
    assert "Unknown plan 'gold'" in world.say(100, "/plan gold").text
    assert "You are on the Free plan already" in world.say(100, "/plan free").text


def test_risk_profiles_are_premium(sqlite_db: Database) -> None:
    world = _verified_with_cash(sqlite_db)
    assert "Usage: /risk" in world.say(100, "/risk wild").text
    refused = world.say(100, "/risk conservative")
    assert "not part of the Free plan" in refused.text and "Premium ($200.00/month)" in refused.text
    world.confirm(100, world.say(100, "/plan premium"))
    assert "highest return at volatility <= 10%/yr" in world.say(100, "/risk conservative").text
    assert _wallet(sqlite_db).risk_profile == {"kind": "target_volatility", "risk_aversion": 2.0,
                                               "target_volatility": 0.1}
    assert "custom 15 %" in world.say(100, "/risk volatility 15").text
    assert _wallet(sqlite_db).risk_profile == {"kind": "target_volatility", "risk_aversion": 2.0,
                                               "target_volatility": 0.15}
    for bad in ("/risk volatility 4", "/risk volatility 51", "/risk volatility ten", "/risk volatility"):
        assert "Usage: /risk" in world.say(100, bad).text, bad
    assert "default" in world.say(100, "/risk default").text
    assert _wallet(sqlite_db).risk_profile is None


def test_risk_maxweight_is_premium_and_keeps_the_objective(sqlite_db: Database) -> None:
    world = _verified_with_cash(sqlite_db)
    world.confirm(100, world.say(100, "/plan basic"))
    refused = world.say(100, "/risk maxweight 10")
    assert "not part of the Basic plan" in refused.text and "Premium ($200.00/month)" in refused.text
    assert _wallet(sqlite_db).risk_profile is None
    world.confirm(100, world.say(100, "/plan premium"))
    done = world.say(100, "/risk maxweight 10%").text
    # A 10 % cap needs ceil(1 / 0.10) = 10 tokens to be fully invested.
    assert "Max weight per token: 10%." in done and "maximum Sharpe ratio, at most 10% per token" in done
    assert "at least 10 eligible tokens" in done
    assert _wallet(sqlite_db).risk_profile == {"kind": "max_sharpe", "risk_aversion": 2.0,
                                               "target_volatility": 0.25, "max_weight": 0.1}
    # Choosing an objective keeps the cap; choosing a cap keeps the objective.
    assert "at most 10% per token" in world.say(100, "/risk conservative").text
    assert _wallet(sqlite_db).risk_profile == {"kind": "target_volatility", "risk_aversion": 2.0,
                                               "target_volatility": 0.1, "max_weight": 0.1}
    assert "at least 7 eligible tokens" in world.say(100, "/risk maxweight 15").text  # ceil(1/0.15)
    assert _wallet(sqlite_db).risk_profile["max_weight"] == 0.15
    assert _wallet(sqlite_db).risk_profile["target_volatility"] == 0.1
    for bad in ("/risk maxweight 4", "/risk maxweight 21", "/risk maxweight 50", "/risk maxweight ten",
                "/risk maxweight", "/risk maxweight 10 20"):
        assert "/risk maxweight PERCENT (5 to 20, or default)" in world.say(100, bad).text, bad
    assert _wallet(sqlite_db).risk_profile["max_weight"] == 0.15  # refusals wrote nothing
    assert "the standard 20%" in world.say(100, "/risk maxweight default").text
    assert _wallet(sqlite_db).risk_profile == {"kind": "target_volatility", "risk_aversion": 2.0,
                                               "target_volatility": 0.1}
    world.say(100, "/risk maxweight 25")
    world.say(100, "/risk default")
    assert _wallet(sqlite_db).risk_profile is None


def test_arena_plan_and_status_cli(sqlite_db: Database) -> None:
    from bot import cli

    world = _verified_with_cash(sqlite_db)
    wallet = _wallet(sqlite_db).id
    del world
    cli._register_subcommands()
    runner = CliRunner()
    base = ["--db", sqlite_db.url]
    shown = runner.invoke(cli.app, [*base, "plan", "show", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["wallets"][0]["plan"] == "Free"
    changed = runner.invoke(cli.app, [*base, "plan", "set", "premium", "--wallet", str(wallet)])
    assert changed.exit_code == 0, changed.output
    assert "Premium ($200.00/month)" in changed.output
    status = runner.invoke(cli.app, [*base, "status", "--json"])
    assert status.exit_code == 0, status.output
    revenue = json.loads(status.output)["plan_revenue"]
    assert revenue["Premium"] == {"wallets": 1, "charged": "200", "charges": 1}
    assert revenue["Free"]["wallets"] == 0
